/**
 * Bridge networking with real namespaces: containers are bare network namespaces running /bin/busybox.
 * Traffic stays on loopback and on the bridges this test creates; everything it creates is removed and checked.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  allocateAddress,
  BridgeDriver,
  bridgeMacAddress,
  bridgeName,
  containerMacAddress,
  createNetns,
  DEFAULT_BRIDGE_MTU,
  deleteNetns,
  DnsServer,
  EMPTY_IPAM_STATE,
  hostVethName,
  listBerthResources,
  releaseAddress,
  RecordTable,
  renderResolvConf,
  resourcesNamed,
  TcpForwarder,
  validateAddressing,
  type IpamState,
  type NetworkConfig,
} from '../../node-agent/network';
import { execInNetns, pickFreeSubnets, releaseSubnets, removeNetnsEtc, testTag, writeNetnsEtc } from '../../node-agent/network/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { runChecked } from '../../node-agent/network/command';

const tag = testTag();
let subnets: string[] = [];
const driver = new BridgeDriver();
const namespace = `t${tag}`;
let netA: NetworkConfig;
let netB: NetworkConfig;
let ipamA: IpamState = EMPTY_IPAM_STATE;
const nsName = (c: string) => `berth-${tag}-${c}`;
const ips: Record<string, string> = {};
const webRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-net-web-'));
const token = `hello-from-beta-${tag}`;
let httpd: ChildProcess | undefined;
let dns: DnsServer | undefined;
const records = new RecordTable(namespace);

// No `wget -T`: this busybox build (1.35.0, Debian) segfaults with it; execInNetns kills after a timeout instead.
function busybox(container: string, ...args: string[]) {
  return execInNetns(nsName(container), ['/bin/busybox', ...args], 3);
}

function allocate(net: NetworkConfig, owner: string): string {
  const result = allocateAddress(net, ipamA, owner);
  ipamA = result.state;
  return result.address;
}

async function startContainer(net: NetworkConfig, container: string, address: string): Promise<void> {
  const ns = await createNetns(nsName(container));
  await driver.attach(net, container, ns, address);
  ips[container] = address;
}

beforeAll(async () => {
  const [subnetA, subnetB] = (subnets = await pickFreeSubnets(2));
  netA = { key: `${namespace}/a`, name: 'a', namespace, driver: 'bridge', ...validateAddressing({ subnet: subnetA }, []) };
  netB = { key: `${namespace}/b`, name: 'b', namespace, driver: 'bridge', mtu: 9000, ...validateAddressing({ subnet: subnetB }, [{ name: 'a', subnet: subnetA }]) };
  await driver.ensureNetwork(netA);
  await driver.ensureNetwork(netB);
  await startContainer(netA, 'alpha', allocate(netA, 'alpha'));
  await startContainer(netA, 'beta', allocate(netA, 'beta'));
  await startContainer(netB, 'gamma', allocateAddress(netB, EMPTY_IPAM_STATE, 'gamma').address);
  records.set({ name: 'alpha', namespace, addresses: [ips.alpha] });
  records.set({ name: 'beta', namespace, addresses: [ips.beta] });
  dns = new DnsServer(records, { address: netA.gateway });
  await dns.start();
  for (const c of ['alpha', 'beta']) writeNetnsEtc(nsName(c), { 'resolv.conf': renderResolvConf({ nameservers: [netA.gateway], namespace }) });
  fs.writeFileSync(path.join(webRoot, 'index.html'), token);
  httpd = spawn('ip', ['netns', 'exec', nsName('beta'), '/bin/busybox', 'httpd', '-f', '-p', '80', '-h', webRoot], { stdio: 'ignore' });
  await waitFor(async () => (await busybox('beta', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1/')).code === 0);
});

afterAll(async () => {
  httpd?.kill('SIGKILL');
  await dns?.stop();
  for (const c of ['alpha', 'beta', 'gamma', 'delta', 'epsilon']) {
    removeNetnsEtc(nsName(c));
    await deleteNetns(nsName(c));
  }
  fs.rmSync(webRoot, { recursive: true, force: true });
  for (const net of [netA, netB]) if (net) await driver.removeNetwork(net);
  releaseSubnets(subnets);
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('bridge driver', () => {
  it('gives each container its address, loopback up and a default route via the gateway', async () => {
    const addr = await execInNetns(nsName('alpha'), ['ip', '-4', '-o', 'addr', 'show']);
    expect(addr.stdout).toMatch(new RegExp(`eth0\\s+inet ${ips.alpha.replace(/\./g, '\\.')}/24`));
    expect(addr.stdout).toMatch(/lo\s+inet 127\.0\.0\.1\/8/);
    expect((await execInNetns(nsName('alpha'), ['ip', 'route', 'show', 'default'])).stdout).toContain(`default via ${netA.gateway} dev eth0`);
  });

  it('gives eth0 the MAC derived from its address, so a reused address keeps its neighbour entries valid', async () => {
    const link = JSON.parse((await runChecked(['ip', '-n', nsName('alpha'), '-j', 'link', 'show', 'eth0'])).stdout) as { address: string }[];
    expect(link[0].address).toBe(containerMacAddress(ips.alpha));
    expect(containerMacAddress('10.213.0.5')).toBe('0a:b8:0a:d5:00:05');
  });

  it('gives bridge, host veth and eth0 the MTU 65535 by default, and spec.mtu when set', async () => {
    const mtuOf = async (argv: string[]) => (JSON.parse((await runChecked(argv)).stdout) as { mtu: number }[])[0].mtu;
    expect(DEFAULT_BRIDGE_MTU).toBe(65535);
    expect(await mtuOf(['ip', '-j', 'link', 'show', bridgeName(netA.key)])).toBe(65535);
    expect(await mtuOf(['ip', '-j', 'link', 'show', hostVethName(netA.key, 'alpha')])).toBe(65535);
    expect(await mtuOf(['ip', '-n', nsName('alpha'), '-j', 'link', 'show', 'eth0'])).toBe(65535);
    expect(await mtuOf(['ip', '-j', 'link', 'show', bridgeName(netB.key)])).toBe(9000);
    expect(await mtuOf(['ip', '-n', nsName('gamma'), '-j', 'link', 'show', 'eth0'])).toBe(9000);
  });

  it('lets two containers on one network ping and fetch over HTTP by name', async () => {
    const ping = await busybox('alpha', 'ping', '-c', '1', '-W', '2', 'beta');
    expect(ping.stdout).toContain(`PING beta (${ips.beta})`);
    expect(ping.code).toBe(0);
    const byShortName = await busybox('alpha', 'wget', '-q', '-O', '-', 'http://beta/');
    expect(byShortName.stdout).toBe(token);
    const byQualifiedName = await busybox('alpha', 'wget', '-q', '-O', '-', `http://beta.${namespace}.berth.local/`);
    expect(byQualifiedName.stdout).toBe(token);
    expect((await busybox('beta', 'ping', '-c', '1', '-W', '2', `alpha.${namespace}`)).code).toBe(0);
  });

  it('resolves names through the network DNS server, following changes, and NXDOMAIN for others', async () => {
    const before = await busybox('alpha', 'nslookup', 'beta', netA.gateway);
    expect(before.stdout).toContain(`Address: ${ips.beta}`);
    records.set({ name: 'beta', namespace, addresses: ['10.213.0.77'] });
    try {
      expect((await busybox('alpha', 'nslookup', 'beta', netA.gateway)).stdout).toContain('Address: 10.213.0.77');
    } finally {
      records.set({ name: 'beta', namespace, addresses: [ips.beta] });
    }
    const foreign = await busybox('alpha', 'nslookup', 'example.com', netA.gateway);
    expect(foreign.stdout + foreign.stderr).toMatch(/NXDOMAIN|can't find/);
  });

  it('keeps a container on another network from reaching either', async () => {
    expect((await busybox('gamma', 'ping', '-c', '1', '-W', '1', ips.alpha)).code).not.toBe(0);
    // Nothing answers (the host drops it), so wget would wait: give it one second.
    const wget = await execInNetns(nsName('gamma'), ['/bin/busybox', 'wget', '-q', '-O', '-', `http://${ips.beta}/`], 1);
    expect(wget.code).not.toBe(0);
    expect(wget.stdout).not.toContain(token);
    // and the reverse direction
    expect((await busybox('alpha', 'ping', '-c', '1', '-W', '1', ips.gamma)).code).not.toBe(0);
  });

  it('publishes a container port on 127.0.0.1 of the host', async () => {
    const forwarder = new TcpForwarder({ hostPort: 0, pickTarget: () => ({ address: ips.beta, port: 80 }) });
    const port = await forwarder.start();
    try {
      const body = await new Promise<string>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path: '/' }, (res) => {
          let data = '';
          res.on('data', (c) => (data += c));
          res.on('end', () => resolve(data));
        }).on('error', reject);
      });
      expect(body).toBe(token);
    } finally {
      await forwarder.stop();
    }
  });

  it('reuses a freed address for the next container, which then works', async () => {
    await driver.detach(netA, 'alpha');
    await deleteNetns(nsName('alpha'));
    const freed = ips.alpha;
    ipamA = releaseAddress(ipamA, 'alpha');
    const next = allocate(netA, 'delta');
    expect(next).toBe(freed);
    await startContainer(netA, 'delta', next);
    expect((await busybox('delta', 'ping', '-c', '1', '-W', '2', ips.beta)).code).toBe(0);
  });

  it('is idempotent: ensureNetwork and detach twice change nothing', async () => {
    await driver.ensureNetwork(netA);
    // Containers came and went above; the gateway's MAC must not have followed them (stale ARP in every container).
    const [bridge] = JSON.parse((await runChecked(['ip', '-j', 'link', 'show', bridgeName(netA.key)])).stdout);
    expect(bridge.address).toBe(bridgeMacAddress(netA.key));
    await driver.detach(netA, 'never-attached');
    expect((await busybox('delta', 'ping', '-c', '1', '-W', '2', ips.beta)).code).toBe(0);
  });

  it('rejects an attach to a namespace that does not exist and leaves no veth behind', async () => {
    await expect(driver.attach(netA, 'ghost', `/run/netns/berth-${tag}-ghost`, '10.213.0.99')).rejects.toThrow(/attach container ghost to network/);
    const left = resourcesNamed(await listBerthResources(), [hostVethName(netA.key, 'ghost')]);
    expect(left).toEqual([]);
  });

  it('refuses arguments that would break the ip batch', async () => {
    await expect(driver.attach(netA, 'zeta', '/run/netns/x\nlink del lo', '10.213.0.9')).rejects.toThrow(/unsafe characters/);
    await expect(driver.attach(netA, 'zeta', '/run/netns/x', '10.213.0.9 dev lo')).rejects.toThrow(/^ip: "10\.213\.0\.9 dev lo" is not an IPv4 address/);
  });

  it('rolls back the veth when configuring the container side fails', async () => {
    const ns = await createNetns(nsName('epsilon'));
    // A multicast address: the kernel takes it or not, but the default route through it fails inside the namespace.
    await expect(driver.attach(netA, 'epsilon', ns, '224.0.0.5')).rejects.toThrow(/attach container epsilon to network \S+: `(addr|route) add /);
    expect(resourcesNamed(await listBerthResources(), [hostVethName(netA.key, 'epsilon')])).toEqual([]);
    expect((await execInNetns(nsName('epsilon'), ['ip', '-o', 'link', 'show'])).stdout).not.toContain('eth0');
    await deleteNetns(nsName('epsilon'));
  });

  it('removes every device, route and namespace it made', async () => {
    httpd?.kill('SIGKILL');
    httpd = undefined;
    const containers = ['alpha', 'beta', 'gamma', 'delta'];
    const devices = [
      bridgeName(netA.key),
      bridgeName(netB.key),
      ...containers.map((c) => hostVethName(netA.key, c)),
      ...containers.map((c) => hostVethName(netB.key, c)),
    ];
    expect(resourcesNamed(await listBerthResources(), devices).length).toBeGreaterThan(0);
    for (const c of containers) {
      await driver.detach(netA, c);
      await driver.detach(netB, c);
      await deleteNetns(nsName(c));
    }
    await driver.removeNetwork(netA);
    await driver.removeNetwork(netB);
    const after = await listBerthResources();
    expect(resourcesNamed(after, [...devices, ...containers.map(nsName)])).toEqual([]);
    const routes = (await runChecked(['ip', '-4', 'route', 'show', 'table', 'all'])).stdout;
    expect(routes).not.toContain(netA.subnet.split('/')[0].replace(/\.0$/, '.'));
    expect(routes).not.toContain(netB.subnet.split('/')[0].replace(/\.0$/, '.'));
  });
});
