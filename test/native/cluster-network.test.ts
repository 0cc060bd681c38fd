/**
 * Networking through the whole cluster (API server, network controller, scheduler, agent, real containers and
 * bridges): addresses from Network status, names between containers, isolation between Networks, the default
 * Network, address reuse, and nothing left on the host afterwards.
 */
import * as net from 'node:net';
import { Container, KubeObject, Network, RESOURCES } from '../../client';
import { runtimeIdOf } from '../../node-agent/agent';
import { bridgeName, containerNetnsName, listBerthResources, resourcesNamed } from '../../node-agent/network';
import { pickFreeSubnets, releaseSubnets, testTag } from '../../node-agent/network/testing';
import { startCluster, TestCluster } from '../helpers/cluster';

const until = async <T>(probe: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
};

const namespace = `cn-${testTag()}`;
let cluster: TestCluster;
let subnets: string[] = [];
const uids: string[] = [];
const runtimeIds: string[] = [];

const client = () => cluster.api.client;
const getContainer = (name: string) => client().get<Container>(RESOURCES.containers, name, namespace);
const running = (name: string) =>
  until(async () => {
    const c = await getContainer(name);
    return c.status?.phase === 'Running' && c.status.ip ? (c.status as { ip: string; networks: Array<{ name: string; ip: string }> }) : undefined;
  });

async function run(name: string, networks: string[] | undefined, args: string[]): Promise<void> {
  const obj: KubeObject = { metadata: { name, namespace }, spec: { image: 'busybox', command: args, terminationGracePeriodSeconds: 1, ...(networks ? { networks } : {}) } };
  const created = await client().create<Container>(RESOURCES.containers, obj);
  runtimeIds.push(runtimeIdOf({ metadata: { name, namespace, uid: created.metadata.uid! }, spec: { image: 'busybox' } }));
}

async function execIn(name: string, args: string[], timeoutSeconds = 3): Promise<{ code: number; out: string }> {
  const handle = await cluster.runtime.exec(`${namespace}.${name}`, { args: ['timeout', String(timeoutSeconds), ...args] }, { stdout: 'pipe', stderr: 'pipe' });
  let out = '';
  handle.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  handle.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { code: (await handle.wait()).exitCode, out };
}

beforeAll(async () => {
  cluster = await startCluster();
  subnets = await pickFreeSubnets(2);
  await client().create(RESOURCES.namespaces, { metadata: { name: namespace } });
  for (const [i, name] of ['net-a', 'net-b'].entries()) {
    const net = await client().create<Network>(RESOURCES.networks, { metadata: { name, namespace }, spec: { driver: 'bridge', subnet: subnets[i] } });
    uids.push(net.metadata.uid!);
  }
  await run('web', ['net-a'], ['sh', '-c', 'mkdir -p /www && echo served-from-web > /www/index.html && exec httpd -f -p 80 -h /www']);
  await run('client', ['net-a'], ['sleep', '1000']);
  await run('outsider', ['net-b'], ['sleep', '1000']);
  await run('plain', undefined, ['sleep', '1000']);
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
  releaseSubnets(subnets);
}, 60_000);

test('containers get addresses from their Network status and report them', async () => {
  const web = await running('web');
  const prefixA = subnets[0].replace(/0\/24$/, '');
  expect(web.ip.startsWith(prefixA)).toBe(true);
  expect(web.networks).toEqual([{ name: 'net-a', ip: web.ip }]);
  const net = await client().get<Network>(RESOURCES.networks, 'net-a', namespace);
  expect((net.status as { allocations: Record<string, string> }).allocations[`${namespace}/web`]).toBe(web.ip);
  expect((await running('outsider')).ip.startsWith(subnets[1].replace(/0\/24$/, ''))).toBe(true);
});

test('two containers on one Network ping and fetch each other by name', async () => {
  const web = await running('web');
  await running('client');
  const ping = await execIn('client', ['ping', '-c', '1', '-W', '2', 'web']);
  expect(ping.out).toContain(`PING web (${web.ip})`);
  expect(ping.code).toBe(0);
  const body = await until(async () => {
    const r = await execIn('client', ['wget', '-q', '-O', '-', `http://web.${namespace}/`]);
    return r.out.includes('served-from-web') ? r.out : undefined;
  }, 5000);
  expect(body).toBe('served-from-web\n');
  expect((await execIn('web', ['ping', '-c', '1', '-W', '2', 'client'])).code).toBe(0);
});

test('a container on another Network reaches neither, by address or by name', async () => {
  const web = await running('web');
  await running('outsider');
  expect((await execIn('outsider', ['ping', '-c', '1', '-W', '1', web.ip])).code).not.toBe(0);
  expect((await execIn('outsider', ['wget', '-q', '-O', '-', `http://${web.ip}/`], 2)).out).not.toContain('served-from-web');
  expect((await execIn('outsider', ['nslookup', 'web'])).out).toMatch(/NXDOMAIN|can't find/);
});

test('a container naming no Network joins the namespace default Network (created with a pool subnet)', async () => {
  const plain = await running('plain');
  expect(plain.networks).toEqual([{ name: 'default', ip: plain.ip }]);
  const dflt = await client().get<Network>(RESOURCES.networks, 'default', namespace);
  uids.push(dflt.metadata.uid!);
  const subnet = (dflt.status as { subnet: string }).subnet;
  expect(subnet).toMatch(/^10\.213\.\d+\.\d+\/26$/);
  expect((await execIn('plain', ['ping', '-c', '1', '-W', '2', 'plain'])).code).toBe(0);
});

/** Connecting from the node to a port nobody listens on: `refused` proves the container answered. */
const knock = (host: string) =>
  new Promise<string>((resolve) => {
    const s = net.connect({ host, port: 9, timeout: 2000 });
    s.on('connect', () => s.destroy() && resolve('connected'));
    s.on('timeout', () => s.destroy() && resolve('timeout'));
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED' ? 'refused' : e.message));
  });

test('an address freed by a deleted container is given to the next one, reachable from the node at once', async () => {
  const { ip } = await running('client');
  expect(await knock(ip)).toBe('refused'); // the node now has a neighbour entry for the address
  await client().delete(RESOURCES.containers, 'client', { namespace });
  await until(async () => getContainer('client').then(() => false, () => true));
  await until(async () => !Object.values(((await client().get<Network>(RESOURCES.networks, 'net-a', namespace)).status as { allocations: Record<string, string> }).allocations).includes(ip));
  await run('client2', ['net-a'], ['sleep', '1000']);
  expect((await running('client2')).ip).toBe(ip);
  expect(await knock(ip)).toBe('refused');
  expect((await execIn('client2', ['ping', '-c', '1', '-W', '2', 'web'])).code).toBe(0);
});

test('after the cluster stops, no bridge, veth or namespace of it is left on the host', async () => {
  await cluster.stop();
  cluster = undefined as unknown as TestCluster;
  const names = [...uids.map(bridgeName), ...runtimeIds.map(containerNetnsName)];
  expect(resourcesNamed(await listBerthResources(), names)).toEqual([]);
}, 60_000);
