/** The network controller against a real API server: IPAM in Network status, default networks, bad input, the finalizer. */
import { Container, KubeObject, Network, RESOURCES } from '../../client';
import { NetworkController, NETWORK_FINALIZER, type NetworkStatus } from '../../controllers/network';
import { startApiServer, TestApiServer } from '../helpers/apiserver';
import { until } from '../helpers/until';


const POOL = { cidr: '10.250.0.0/16', prefixLength: 24 };
const newController = (api: TestApiServer) => new NetworkController(api.client, { pool: POOL, reservedSubnets: async () => [{ name: 'host', subnet: '10.250.0.0/24' }] });

describe('network controller', () => {
  let api: TestApiServer;
  let controller: NetworkController;
  const ns = async (name: string) => api.client.create(RESOURCES.namespaces, { metadata: { name } });
  const container = (namespace: string, name: string, networks?: string[]): KubeObject => ({ metadata: { name, namespace }, spec: { image: 'busybox', ...(networks ? { networks } : {}) } });
  const network = (namespace: string, name: string, spec: object): KubeObject => ({ metadata: { name, namespace }, spec: { driver: 'bridge', ...spec } });
  const getNet = (namespace: string, name: string) => api.client.get<Network>(RESOURCES.networks, name, namespace);
  const statusOf = async (namespace: string, name: string) => ((await getNet(namespace, name)).status ?? {}) as NetworkStatus;
  const allocated = (namespace: string, name: string, count: number) =>
    until(async () => {
      const st = await statusOf(namespace, name);
      return Object.keys(st.allocations ?? {}).length === count ? st : undefined;
    });

  beforeAll(async () => {
    api = await startApiServer();
    controller = newController(api);
    await controller.start();
  });
  afterAll(async () => {
    await controller.stop();
    await api.stop();
  });

  test('a Container naming no Network gets the namespace default Network, created with a subnet from the pool', async () => {
    await ns('dflt');
    await api.client.create(RESOURCES.containers, container('dflt', 'c1'));
    const st = await allocated('dflt', 'default', 1);
    expect(st.subnet).toBe('10.250.1.0/24'); // 10.250.0.0/24 is "taken by the host"
    expect(st.gateway).toBe('10.250.1.1');
    expect(st.allocations).toEqual({ 'dflt/c1': '10.250.1.2' });
    expect(st.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    const net = await getNet('dflt', 'default');
    expect(net.spec.driver).toBe('bridge');
    expect(net.metadata.finalizers).toContain(NETWORK_FINALIZER);
  });

  test('addresses are unique, freed on delete and the freed one is reused first', async () => {
    await ns('ipam');
    await api.client.create(RESOURCES.networks, network('ipam', 'a', { subnet: '10.251.0.0/28' }));
    for (const name of ['x', 'y', 'z']) await api.client.create(RESOURCES.containers, container('ipam', name, ['a']));
    const st = await allocated('ipam', 'a', 3);
    expect(new Set(Object.values(st.allocations!)).size).toBe(3);
    const yAddress = st.allocations!['ipam/y'];
    await api.client.delete(RESOURCES.containers, 'y', { namespace: 'ipam' });
    await allocated('ipam', 'a', 2);
    await api.client.create(RESOURCES.containers, container('ipam', 'w', ['a']));
    expect((await allocated('ipam', 'a', 3)).allocations!['ipam/w']).toBe(yAddress);
  });

  test('an exhausted pool is a Warning Event on the Container that got no address', async () => {
    await ns('tiny');
    await api.client.create(RESOURCES.networks, network('tiny', 'n', { subnet: '10.251.1.0/30' })); // one usable address
    await api.client.create(RESOURCES.containers, container('tiny', 'first', ['n']));
    await api.client.create(RESOURCES.containers, container('tiny', 'second', ['n']));
    await allocated('tiny', 'n', 1);
    const event = await until(async () =>
      (await api.client.list(RESOURCES.events, { namespace: 'tiny' })).items.find((e) => e.reason === 'AddressAllocationFailed' && (e.involvedObject as { name: string }).name === 'second'),
    );
    expect(event.message).toMatch(/exhausted/);
  });

  test.each([
    ['gateway outside the subnet', { subnet: '10.252.0.0/24', gateway: '10.252.1.1' }, /spec\.gateway: 10\.252\.1\.1 is outside subnet 10\.252\.0\.0\/24/],
    ['host bits set', { subnet: '10.252.2.5/24' }, /spec\.subnet/],
    ['overlapping another Network', { subnet: '10.251.0.0/24' }, /spec\.subnet: 10\.251\.0\.0\/24 overlaps 10\.251\.0\.0\/28 of network ipam\/a/],
  ])('%s: Ready=False with the field in the message, an Event, no allocations', async (_what, spec, message) => {
    const namespace = `bad${Math.random().toString(36).slice(2, 8)}`;
    await ns(namespace);
    await api.client.create(RESOURCES.networks, network(namespace, 'bad', spec));
    await api.client.create(RESOURCES.containers, container(namespace, 'user', ['bad']));
    const ready = await until(async () => (await statusOf(namespace, 'bad')).conditions?.find((c) => c.type === 'Ready' && c.status === 'False'));
    expect(ready.reason).toBe('InvalidAddressing');
    expect(ready.message).toMatch(message);
    expect((await statusOf(namespace, 'bad')).allocations).toBeUndefined();
    const events = await until(async () => (await api.client.list(RESOURCES.events, { namespace })).items.filter((e) => e.reason === 'InvalidAddressing'));
    expect(events[0].type).toBe('Warning');
  });

  test('overlay Networks get unique VNIs from 4096 up (bridges none), spec.vni when free, and a freed VNI is reused', async () => {
    await ns('vx');
    const vniOf = (name: string) => until(async () => (await statusOf('vx', name)).vni);
    const overlay = (name: string, third: number, extra: object = {}) => api.client.create(RESOURCES.networks, network('vx', name, { driver: 'overlay', subnet: `10.253.${third}.0/24`, ...extra }));
    // Created at once: the controller's two workers reconcile them concurrently.
    await Promise.all(['o1', 'o2', 'o3'].map((name, i) => overlay(name, i)));
    const vnis = [await vniOf('o1'), await vniOf('o2'), await vniOf('o3')];
    expect([...vnis].sort()).toEqual([4096, 4097, 4098]);
    await api.client.create(RESOURCES.networks, network('vx', 'plain', { subnet: '10.253.9.0/24' }));
    await until(async () => (await statusOf('vx', 'plain')).subnet);
    expect((await statusOf('vx', 'plain')).vni).toBeUndefined();

    await overlay('mine', 4, { vni: 42 });
    expect(await vniOf('mine')).toBe(42);
    await overlay('dup', 5, { vni: 42 });
    const refused = await until(async () => (await statusOf('vx', 'dup')).conditions?.find((c) => c.type === 'Ready' && c.status === 'False'));
    expect(refused.reason).toBe('VNIInUse');
    expect(refused.message).toBe('spec.vni: 42 is already used by Network vx/mine');
    expect((await statusOf('vx', 'dup')).vni).toBeUndefined();
    await expect(overlay('zero', 6, { vni: 0 })).rejects.toMatchObject({ statusCode: 422 });
    await expect(overlay('huge', 6, { vni: 16777216 })).rejects.toMatchObject({ statusCode: 422 });

    await api.client.delete(RESOURCES.networks, 'o2', { namespace: 'vx' });
    await until(async () => !(await api.client.list(RESOURCES.networks, { namespace: 'vx' })).items.some((n) => n.metadata.name === 'o2'));
    await overlay('o4', 7);
    expect(await vniOf('o4')).toBe(vnis[1]);
    const all = (await api.client.list<Network>(RESOURCES.networks, { namespace: 'vx' })).items.map((n) => (n.status as NetworkStatus).vni).filter((v) => v !== undefined);
    expect(new Set(all).size).toBe(all.length);
  });

  test('a Network deleted while a Container uses it stays until the Container leaves', async () => {
    await ns('fin');
    await api.client.create(RESOURCES.networks, network('fin', 'n', { subnet: '10.251.2.0/24' }));
    await api.client.create(RESOURCES.containers, container('fin', 'user', ['n']));
    await allocated('fin', 'n', 1);
    await api.client.delete(RESOURCES.networks, 'n', { namespace: 'fin' });
    const held = await until(async () => {
      const n = await getNet('fin', 'n');
      return n.metadata.deletionTimestamp && (n.status as NetworkStatus).conditions?.find((c) => c.type === 'Ready' && c.reason === 'InUse') ? n : undefined;
    });
    expect(held.metadata.finalizers).toContain(NETWORK_FINALIZER);
    await api.client.delete(RESOURCES.containers, 'user', { namespace: 'fin' });
    await until(async () => getNet('fin', 'n').then(() => false, () => true));
  });

  test('two controllers at once and a controller restart never hand out one address twice or move one', async () => {
    await ns('race');
    await api.client.create(RESOURCES.networks, network('race', 'n', { subnet: '10.251.3.0/24' }));
    const second = newController(api);
    await second.start();
    await Promise.all(Array.from({ length: 30 }, (_, i) => api.client.create(RESOURCES.containers, container('race', `c${i}`, ['n']))));
    const st = await allocated('race', 'n', 30);
    await second.stop();
    expect(new Set(Object.values(st.allocations!)).size).toBe(30);
    await controller.stop();
    controller = newController(api);
    await controller.start();
    await api.client.create(RESOURCES.containers, container('race', 'late', ['n']));
    const after = await allocated('race', 'n', 31);
    const { ['race/late']: late, ...before } = after.allocations!;
    expect(before).toEqual(st.allocations);
    expect(Object.values(before)).not.toContain(late);
    const containers = await api.client.list<Container>(RESOURCES.containers, { namespace: 'race' });
    expect(containers.items).toHaveLength(31);
  });
});
