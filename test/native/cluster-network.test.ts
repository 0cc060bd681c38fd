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
import { until } from '../helpers/until';


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
  }).catch(async (err) => {
    throw new Error(`${name}: ${err.message}: ${JSON.stringify((await getContainer(name)).status)}`);
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
  subnets = await pickFreeSubnets(3);
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

test('after an agent restart (fresh networking state) running containers still resolve each other and new ones join', async () => {
  const web = await running('web');
  await cluster.restartAgent();
  const lookup = await until(async () => {
    const r = await execIn('client2', ['nslookup', 'web']);
    return r.out.includes(web.ip) ? r.out : undefined;
  }, 5000);
  expect(lookup).toMatch(new RegExp(`Address: ${web.ip.replace(/\./g, '\\.')}`));
  await run('late', ['net-a'], ['sleep', '1000']);
  await running('late');
  expect(await execIn('late', ['ping', '-c', '1', '-W', '2', 'client2'])).toMatchObject({ code: 0 });
  expect(await execIn('client2', ['ping', '-c', '1', '-W', '2', 'late'])).toMatchObject({ code: 0 });
});

test('spec.ports[].hostPort reaches the container from the node; a second claim of the port is refused with the field named', async () => {
  const hostPort = await new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
  const withPort = (name: string): KubeObject => ({
    metadata: { name, namespace },
    spec: { image: 'busybox', command: ['sh', '-c', `mkdir -p /www && echo ${name} > /www/index.html && exec httpd -f -p 80 -h /www`], ports: [{ containerPort: 80, hostPort }], terminationGracePeriodSeconds: 1 },
  });
  await client().create(RESOURCES.containers, withPort('published'));
  runtimeIds.push(`${namespace}.published`);
  await running('published');
  const body = await until(async () => {
    const text = await fetch(`http://127.0.0.1:${hostPort}/`).then((r) => r.text());
    return text.includes('published') ? text : undefined;
  }, 5000);
  expect(body).toBe('published\n');
  await client().create(RESOURCES.containers, withPort('second'));
  runtimeIds.push(`${namespace}.second`);
  const refused = await until(async () => {
    const st = (await getContainer('second')).status;
    return st?.reason === 'NetworkSetupError' ? st : undefined;
  }).catch(async (err) => {
    throw new Error(`${err.message}: ${JSON.stringify((await getContainer('second')).status)}`);
  });
  expect(refused.message).toMatch(new RegExp(`spec\\.ports\\[0\\]\\.hostPort: .*${hostPort}`));
  await client().delete(RESOURCES.containers, 'second', { namespace });
});

test('a container on a Network with driver none has loopback only', async () => {
  await client().create(RESOURCES.networks, { metadata: { name: 'isolated', namespace }, spec: { driver: 'none' } });
  await run('loner', ['isolated'], ['sleep', '1000']);
  const st = await until(async () => {
    const c = await getContainer('loner');
    return c.status?.phase === 'Running' ? c.status : undefined;
  });
  expect(st.networks).toEqual([]);
  expect((await execIn('loner', ['ip', '-o', 'link'])).out.trim().split('\n')).toHaveLength(1);
});

test('a container on an overlay Network of a node without a VTEP address stays Pending with the reason named', async () => {
  await client().create(RESOURCES.networks, { metadata: { name: 'ov', namespace }, spec: { driver: 'overlay' } });
  await run('stranded', ['ov'], ['sleep', '1000']);
  const st = await until(async () => {
    const status = (await getContainer('stranded')).status;
    return status?.reason === 'NetworkSetupError' ? status : undefined;
  }, 20_000);
  expect(st.message).toMatch(/spec\.networks\[0\]: network \S+\/ov: overlay Networks need a VTEP address on this node/);
  expect(st.phase).toBe('Pending');
  await client().delete(RESOURCES.containers, 'stranded', { namespace });
}, 30_000);

test('100 containers on one Network: distinct addresses, apply→Running measured, all detached without leftovers', async () => {
  await client().create(RESOURCES.networks, { metadata: { name: 'churn', namespace }, spec: { subnet: subnets[2] } });
  const names = Array.from({ length: 100 }, (_, i) => `churn-${i}`);
  const createdAt = new Map<string, number>();
  const runningAt = new Map<string, number>();
  const watch = await client().watch<Container>(RESOURCES.containers, { namespace }, (_t, c) => {
    if (c.status?.phase === 'Running' && !runningAt.has(c.metadata.name!)) runningAt.set(c.metadata.name!, Date.now());
  });
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const name = names[next++];
      createdAt.set(name, Date.now());
      await run(name, ['churn'], ['sleep', '1000']);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  await until(async () => names.every((n) => runningAt.has(n)), 120_000);
  watch.stop();
  const latencies = names.map((n) => runningAt.get(n)! - createdAt.get(n)!).sort((a, b) => a - b);
  console.log(`apply→Running over 100 containers on a bridge: p50 ${latencies[49]} ms, p99 ${latencies[98]} ms`);
  const list = await client().list<Container>(RESOURCES.containers, { namespace });
  const ips = list.items.filter((c) => c.metadata.name!.startsWith('churn-')).map((c) => c.status?.ip as string);
  expect(new Set(ips).size).toBe(100);
  expect(ips.every((ip) => ip.startsWith(subnets[2].replace(/0\/24$/, '')))).toBe(true);
  await Promise.all(names.map((n) => client().delete(RESOURCES.containers, n, { namespace })));
  await until(async () => (await client().list(RESOURCES.containers, { namespace })).items.every((c) => !c.metadata.name!.startsWith('churn-')), 120_000);
  const churnNet = () => client().get<Network>(RESOURCES.networks, 'churn', namespace);
  await until(async () => Object.keys(((await churnNet()).status as { allocations?: object }).allocations ?? {}).length === 0);
  const left = resourcesNamed(await listBerthResources(), names.map((n) => containerNetnsName(`${namespace}.${n}`)));
  expect(left).toEqual([]);
  uids.push((await churnNet()).metadata.uid!);
}, 240_000);

test('after the cluster stops, no bridge, veth or namespace of it is left on the host', async () => {
  await cluster.stop();
  cluster = undefined as unknown as TestCluster;
  const names = [...uids.map(bridgeName), ...runtimeIds.map(containerNetnsName)];
  expect(resourcesNamed(await listBerthResources(), names)).toEqual([]);
}, 60_000);
