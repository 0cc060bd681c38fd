/**
 * Real containers (Berth's runtime, busybox rootfs) on Networks set up by NodeNetworking: the runtime joins the
 * namespace by path and bind-mounts the hosts and resolv.conf files, as the agent does. Two containers on net A
 * reach each other by name over ICMP and HTTP; a third on net B reaches neither.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BerthRuntime } from '../../node-agent/runtime';
import { defaultSpec } from '../../node-agent/runtime/spec';
import {
  BerthNetworkProvider,
  bridgeName,
  containerNetnsName,
  listBerthResources,
  NodeNetworking,
  resourcesNamed,
  validateAddressing,
  type NetworkConfig,
} from '../../node-agent/network';
import { pickFreeSubnets, releaseSubnets } from '../../node-agent/network/testing';
import { makeBundle, uniqueId, type Bundle } from '../helpers/rootfs';

const namespace = `t${uniqueId('n').slice(-8)}`;
let subnets: string[] = [];
const nets: Record<string, NetworkConfig> = {};
const networking = new NodeNetworking();
const etcRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-net-etc-'));
const stateRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-net-rt-'));
const runtime = new BerthRuntime({ root: stateRoot });
const containers: Record<string, { id: string; bundle: Bundle; net: string; ip: string }> = {};
const provider = new BerthNetworkProvider({
  networking,
  etcRoot,
  resolve: async (c, name) => ({ network: nets[name], address: containers[c.metadata.name].ip }),
});
const objectOf = (name: string) => ({
  metadata: { name, namespace, uid: containers[name].id },
  spec: { image: 'busybox', networks: [containers[name].net] },
});

async function startContainer(name: string, net: string, host: number, args: string[]): Promise<void> {
  const id = uniqueId(`net-${name}`);
  const bundle = makeBundle();
  containers[name] = { id, bundle, net, ip: nets[net].subnet.replace(/0\/24$/, String(host)) };
  const setup = await provider.attach(objectOf(name), id);
  bundle.write(defaultSpec({ rootfs: 'rootfs', args, hostname: name, namespacePaths: { network: setup.netnsPath }, mounts: [...(setup.mounts ?? [])] }));
  await runtime.run(id, bundle.dir, { detach: true });
}

async function execIn(name: string, args: string[], timeoutSeconds = 3): Promise<{ code: number; out: string }> {
  const handle = await runtime.exec(containers[name].id, { args: ['timeout', String(timeoutSeconds), ...args] }, { stdout: 'pipe', stderr: 'pipe' });
  let out = '';
  handle.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  handle.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { code: (await handle.wait()).exitCode, out };
}

beforeAll(async () => {
  subnets = await pickFreeSubnets(2);
  for (const [i, name] of ['a', 'b'].entries()) {
    nets[name] = { key: `${namespace}/${name}`, name, namespace, driver: 'bridge', ...validateAddressing({ subnet: subnets[i] }, []) };
  }
  await startContainer('web', 'a', 10, ['sh', '-c', 'mkdir -p /www && echo served-from-web > /www/index.html && exec httpd -f -p 80 -h /www']);
  await startContainer('client', 'a', 11, ['sleep', '1000']);
  await startContainer('outsider', 'b', 10, ['sleep', '1000']);
});

afterAll(async () => {
  for (const [name, c] of Object.entries(containers)) {
    await runtime.delete(c.id, { force: true }).catch(() => undefined);
    await provider.detach(objectOf(name), c.id);
    c.bundle.cleanup();
  }
  for (const net of Object.values(nets)) await networking.removeNetwork(net).catch(() => undefined);
  await networking.close();
  releaseSubnets(subnets);
  fs.rmSync(etcRoot, { recursive: true, force: true });
  fs.rmSync(stateRoot, { recursive: true, force: true });
});

test('containers on one network ping and fetch each other by name', async () => {
  const ping = await execIn('client', ['ping', '-c', '1', '-W', '2', 'web']);
  expect(ping.out).toContain(`PING web (${containers.web.ip})`);
  expect(ping.code).toBe(0);
  let body = '';
  for (let attempt = 0; attempt < 20 && !body.includes('served-from-web'); attempt++) {
    body = (await execIn('client', ['wget', '-q', '-O', '-', `http://web.${namespace}.berth.local/`])).out;
    if (!body.includes('served-from-web')) await new Promise((r) => setTimeout(r, 100));
  }
  expect(body).toBe('served-from-web\n');
  expect((await execIn('web', ['ping', '-c', '1', '-W', '2', 'client'])).code).toBe(0);
});

test('a container on another network reaches neither, by address or by name', async () => {
  expect((await execIn('outsider', ['ping', '-c', '1', '-W', '1', containers.web.ip])).code).not.toBe(0);
  expect((await execIn('outsider', ['wget', '-q', '-O', '-', `http://${containers.web.ip}/`], 1)).out).not.toContain('served-from-web');
  const byName = await execIn('outsider', ['nslookup', 'web', nets.b.gateway]);
  expect(byName.out).toMatch(/NXDOMAIN|can't find/);
});

test('deleting the containers and networks leaves nothing behind', async () => {
  for (const [name, c] of Object.entries(containers)) {
    await runtime.delete(c.id, { force: true });
    await provider.detach(objectOf(name), c.id);
  }
  for (const net of Object.values(nets)) await networking.removeNetwork(net);
  const names = [...Object.values(nets).map((n) => bridgeName(n.key)), ...Object.values(containers).map((c) => containerNetnsName(c.id))];
  expect(resourcesNamed(await listBerthResources(), names)).toEqual([]);
  expect(fs.readdirSync(etcRoot)).toEqual([]);
});
