/**
 * NodeNetworking, the agent's entry: containers set up with namespaces, interfaces eth0/eth1, names in the
 * network DNS and /etc files, a Service reachable by name from a container and on its published port from
 * the host. Everything it made is removed at the end and checked.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  BerthNetworkProvider,
  bridgeName,
  containerNetnsName,
  hostVethName,
  listBerthResources,
  NodeNetworking,
  PortInUseError,
  resourcesNamed,
  validateAddressing,
  type ContainerNetworkRequest,
  type NetworkConfig,
} from '../../node-agent/network';
import type { ContainerObject } from '../../node-agent/agent';
import { execInNetns, pickFreeSubnets, releaseSubnets, removeNetnsEtc, testTag } from '../../node-agent/network/testing';

const tag = testTag();
let subnets: string[] = [];
const namespace = `t${tag}`;
let node = new NodeNetworking();
const nets: Record<'a' | 'b', NetworkConfig> = {} as never;
const requests: Record<string, ContainerNetworkRequest> = {};
const servers: ChildProcess[] = [];
const webRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-node-web-'));
const ipOf = (net: NetworkConfig, host: number) => net.subnet.replace(/0\/24$/, String(host));
const nsOf = (name: string) => containerNetnsName(`${tag}-${name}`);
const run = (name: string, ...argv: string[]) => execInNetns(nsOf(name), argv, 3);

function request(name: string, networks: ContainerNetworkRequest['networks']): ContainerNetworkRequest {
  // /etc/netns/<ns> is what `ip netns exec` mounts over /etc: it stands in for the runtime's bind mounts.
  return { containerId: `${tag}-${name}`, name, namespace, networks, etcDir: `/etc/netns/${nsOf(name)}` };
}

function freePort(): Promise<number> {
  const server = net.createServer();
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    }),
  );
}

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

beforeAll(async () => {
  const [subnetA, subnetB] = (subnets = await pickFreeSubnets(2));
  nets.a = { key: `${namespace}/a`, name: 'a', namespace, driver: 'bridge', ...validateAddressing({ subnet: subnetA }, []) };
  nets.b = { key: `${namespace}/b`, name: 'b', namespace, driver: 'bridge', internal: true, ...validateAddressing({ subnet: subnetB }, []) };
  requests['web-1'] = request('web-1', [{ network: nets.a, address: ipOf(nets.a, 11) }]);
  requests['web-2'] = request('web-2', [{ network: nets.a, address: ipOf(nets.a, 12) }]);
  requests.client = request('client', [
    { network: nets.a, address: ipOf(nets.a, 20) },
    { network: nets.b, address: ipOf(nets.b, 20) },
  ]);
  requests.lonely = request('lonely', []);
  for (const r of Object.values(requests)) await node.setUpContainer(r);
  for (const web of ['web-1', 'web-2']) {
    const root = path.join(webRoot, web);
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(root, 'index.html'), `served-by-${web}`);
    servers.push(spawn('ip', ['netns', 'exec', nsOf(web), '/bin/busybox', 'httpd', '-f', '-p', '80', '-h', root], { stdio: 'ignore' }));
  }
  node.setServiceRecord(nets.a.key, { name: 'web', namespace, addresses: [ipOf(nets.a, 11), ipOf(nets.a, 12)] });
});

afterAll(async () => {
  for (const s of servers) s.kill('SIGKILL');
  for (const r of Object.values(requests)) {
    await node.tearDownContainer(r);
    removeNetnsEtc(nsOf(r.name));
  }
  for (const net of Object.values(nets)) await node.removeNetwork(net);
  await node.close();
  fs.rmSync(webRoot, { recursive: true, force: true });
  releaseSubnets(subnets);
});

describe('NodeNetworking', () => {
  it('gives a container on two networks eth0 and eth1, with the default route on the first only', async () => {
    const addresses = (await run('client', 'ip', '-4', '-o', 'addr', 'show')).stdout;
    expect(addresses).toContain(`eth0    inet ${ipOf(nets.a, 20)}/24`);
    expect(addresses).toContain(`eth1    inet ${ipOf(nets.b, 20)}/24`);
    expect((await run('client', 'ip', 'route', 'show', 'default')).stdout.trim()).toBe(`default via ${nets.a.gateway} dev eth0`);
    expect(fs.readFileSync(`/etc/netns/${nsOf('client')}/resolv.conf`, 'utf8')).toContain(`nameserver ${nets.a.gateway}\nsearch ${namespace}.berth.local`);
  });

  it('sets up containers that arrive at once on a network that does not exist yet', async () => {
    const [subnet] = await pickFreeSubnets(1);
    subnets.push(subnet);
    const fresh: NetworkConfig = { key: `${namespace}/fresh`, name: 'fresh', namespace, driver: 'bridge', ...validateAddressing({ subnet }, []) };
    const burst = ['f1', 'f2', 'f3'].map((name, i) => request(name, [{ network: fresh, address: ipOf(fresh, 10 + i) }]));
    try {
      await Promise.all(burst.map((r) => node.setUpContainer(r)));
      expect((await run('f1', '/bin/busybox', 'ping', '-c', '1', '-W', '2', 'f3')).code).toBe(0);
    } finally {
      for (const r of burst) {
        await node.tearDownContainer(r);
        removeNetnsEtc(nsOf(r.name));
      }
      await node.removeNetwork(fresh);
    }
    expect(resourcesNamed(await listBerthResources(), [bridgeName(fresh.key), ...burst.map((r) => nsOf(r.name))])).toEqual([]);
  });

  it('gives a container with no networks loopback only', async () => {
    const links = (await run('lonely', 'ip', '-o', 'link', 'show')).stdout.trim().split('\n');
    expect(links).toHaveLength(1);
    expect(links[0]).toMatch(/lo: <LOOPBACK,UP/);
  });

  it('makes a Service reachable by name from a container, over all its endpoints', async () => {
    const lookup = await run('client', '/bin/busybox', 'nslookup', 'web', nets.a.gateway);
    expect(lookup.stdout).toContain(`Address: ${ipOf(nets.a, 11)}`);
    expect(lookup.stdout).toContain(`Address: ${ipOf(nets.a, 12)}`);
    let body = '';
    for (let attempt = 0; attempt < 20 && !body.startsWith('served-by-web-'); attempt++) {
      body = (await run('client', '/bin/busybox', 'wget', '-q', '-O', '-', `http://web.${namespace}/`)).stdout;
      if (!body) await new Promise((r) => setTimeout(r, 100));
    }
    expect(body).toMatch(/^served-by-web-[12]$/);
    expect((await run('client', '/bin/busybox', 'wget', '-q', '-O', '-', 'http://web-2/')).stdout).toBe('served-by-web-2');
  });

  it('makes a Service reachable on its published port from the host, spreading connections', async () => {
    const endpoints = [ipOf(nets.a, 11), ipOf(nets.a, 12)];
    let next = 0;
    const port = await node.publishPort(0, () => ({ address: endpoints[next++ % endpoints.length], port: 80 }));
    try {
      const bodies = [await get(port), await get(port)];
      expect(bodies.sort()).toEqual(['served-by-web-1', 'served-by-web-2']);
      await expect(node.publishPort(port, () => undefined)).rejects.toThrow(`published port ${port} on 127.0.0.1 is already in use`);
      const other = new NodeNetworking();
      await expect(other.publishPort(port, () => undefined)).rejects.toBeInstanceOf(PortInUseError);
    } finally {
      await node.unpublishPort(port);
    }
  });

  it('serves the agent as its NetworkProvider: namespace, addresses, /etc bind mounts and published ports', async () => {
    const etcRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-provider-etc-'));
    const provider = new BerthNetworkProvider({
      networking: node,
      etcRoot,
      resolve: async (_c, name) => {
        if (name !== 'a') throw new Error('not found');
        return { network: nets.a, address: ipOf(nets.a, 30) };
      },
    });
    const hostPort = await freePort();
    // Container.spec.ports is in the CRD but not yet in the agent's ContainerSpec type.
    const containerWith = (spec: object, name = 'prov') => ({ metadata: { name, namespace, uid: `uid-${tag}-${name}` }, spec }) as unknown as ContainerObject;
    const spec = { image: 'busybox', networks: ['a'], ports: [{ containerPort: 80, hostPort }] };
    const container = containerWith(spec);
    const id = `${tag}-prov`;
    let httpd: ChildProcess | undefined;
    try {
      const setup = await provider.attach(container, id);
      expect(setup).toMatchObject({ netnsPath: `/run/netns/${nsOf('prov')}`, ip: ipOf(nets.a, 30), networks: [{ name: 'a', ip: ipOf(nets.a, 30) }] });
      expect(setup.mounts?.map((m) => [m.destination, m.source])).toEqual([
        ['/etc/hosts', path.join(etcRoot, id, 'hosts')],
        ['/etc/resolv.conf', path.join(etcRoot, id, 'resolv.conf')],
      ]);
      expect(fs.readFileSync(path.join(etcRoot, id, 'resolv.conf'), 'utf8')).toContain(`nameserver ${nets.a.gateway}`);
      expect((await run('client', '/bin/busybox', 'ping', '-c', '1', '-W', '2', 'prov')).stdout).toContain(`(${ipOf(nets.a, 30)})`);
      httpd = spawn('ip', ['netns', 'exec', nsOf('prov'), '/bin/busybox', 'httpd', '-f', '-p', '80', '-h', path.join(webRoot, 'web-1')], { stdio: 'ignore' });
      let body = '';
      for (let attempt = 0; attempt < 20 && body !== 'served-by-web-1'; attempt++) {
        body = await get(hostPort).catch(() => '');
        if (body !== 'served-by-web-1') await new Promise((r) => setTimeout(r, 100));
      }
      expect(body).toBe('served-by-web-1');

      await expect(provider.attach(containerWith(spec, 'clash'), `${tag}-clash`)).rejects.toThrow(`spec.ports[0].hostPort: published port ${hostPort} on 127.0.0.1 is already in use`);
      expect(resourcesNamed(await listBerthResources(), [nsOf('clash'), hostVethName(nets.a.key, `${tag}-clash`)])).toEqual([]);
      await expect(provider.attach(containerWith({ ...spec, networks: ['missing'] }), `${tag}-x`)).rejects.toThrow(
        `spec.networks[0]: network ${namespace}/missing: not found`,
      );
      await expect(provider.attach(containerWith({ ...spec, ports: [{ containerPort: 53, hostPort, protocol: 'UDP' }] }), `${tag}-u`)).rejects.toThrow(
        'spec.ports[0].protocol: only TCP ports can be published on the host (got UDP)',
      );
      expect(await provider.attach(containerWith({ image: 'busybox' }), `${tag}-y`)).toEqual({ networks: [] });
      await expect(provider.attach(containerWith({ image: 'busybox', ports: [{ containerPort: 80, hostPort }] }), `${tag}-z`)).rejects.toThrow(
        'spec.ports[0].hostPort: publishing a port needs the container on a network',
      );

      await provider.detach(container, id);
      expect(fs.existsSync(path.join(etcRoot, id))).toBe(false);
      expect(resourcesNamed(await listBerthResources(), [nsOf('prov'), hostVethName(nets.a.key, id)])).toEqual([]);
      await expect(get(hostPort)).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      httpd?.kill('SIGKILL');
      await provider.detach(container, id);
      fs.rmSync(etcRoot, { recursive: true, force: true });
    }
  });

  it('re-adopts running containers after an agent restart without disturbing them', async () => {
    await node.close();
    node = new NodeNetworking();
    for (const r of Object.values(requests)) await node.adoptContainer(r);
    expect((await run('client', 'ip', '-4', '-o', 'addr', 'show', 'eth0')).stdout).toContain(`inet ${ipOf(nets.a, 20)}/24`);
    expect((await run('client', '/bin/busybox', 'nslookup', 'web-1', nets.a.gateway)).stdout).toContain(`Address: ${ipOf(nets.a, 11)}`);
    expect((await run('client', '/bin/busybox', 'wget', '-q', '-O', '-', 'http://web-1/')).stdout).toBe('served-by-web-1');
  });

  it('drops a container name when the container goes, and removes everything at the end', async () => {
    await expect(node.removeNetwork(nets.a)).rejects.toThrow(`network ${namespace}/a is in use by 3 container(s): ${namespace}/web-1, ${namespace}/web-2, ${namespace}/client`);
    await node.tearDownContainer(requests['web-2']);
    const gone = await run('client', '/bin/busybox', 'nslookup', 'web-2', nets.a.gateway);
    expect(gone.stdout + gone.stderr).toMatch(/NXDOMAIN|can't find/);
    for (const s of servers) s.kill('SIGKILL');
    for (const r of Object.values(requests)) {
      await node.tearDownContainer(r);
      removeNetnsEtc(nsOf(r.name));
    }
    for (const net of Object.values(nets)) await node.removeNetwork(net);
    const names = [
      ...Object.values(nets).map((n) => bridgeName(n.key)),
      ...Object.values(requests).flatMap((r) => [nsOf(r.name), ...Object.values(nets).map((n) => hostVethName(n.key, r.containerId))]),
    ];
    expect(resourcesNamed(await listBerthResources(), names)).toEqual([]);
    expect(Object.values(requests).filter((r) => fs.existsSync(r.etcDir!))).toEqual([]);
  });
});
