import { Container, KubeObject, RESOURCES } from '../../client';
import { Scheduler } from '../../controllers/scheduler';
import { AGENT_FINALIZER } from '../../node-agent/agent';
import { startApiServer, TestApiServer } from '../helpers/apiserver';
import { until } from '../helpers/until';


const newNode = (name: string, ready: boolean, memory = '4Gi'): KubeObject => ({
  metadata: { name },
  spec: {},
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }], allocatable: { cpu: '2', memory, pids: 10000 } },
});

const newContainer = (name: string, memory = '64Mi'): Container => ({
  metadata: { name, namespace: 'default' },
  spec: { image: 'busybox', command: ['sleep', '1000'], resources: { limits: { memory } } },
});

describe('scheduler against a real API server', () => {
  let api: TestApiServer;
  let scheduler: Scheduler;
  beforeAll(async () => {
    api = await startApiServer();
    for (const n of [newNode('node-a', true), newNode('node-b', true), newNode('node-down', false)]) {
      const created = await api.client.create(RESOURCES.nodes, { metadata: n.metadata, spec: n.spec });
      await api.client.patch(RESOURCES.nodes, created.metadata.name!, { status: n.status }, { subresource: 'status' });
    }
    scheduler = new Scheduler(api.client);
    await scheduler.start();
  });
  afterAll(async () => {
    await scheduler.stop();
    await api.stop();
  });

  const nodeOf = async (name: string) => (await api.client.get<Container>(RESOURCES.containers, name, 'default')).spec.nodeName;

  it('spreads containers over Ready nodes and never onto a NotReady one', async () => {
    for (let i = 0; i < 4; i++) await api.client.create(RESOURCES.containers, newContainer(`spread-${i}`));
    await until(async () => (await Promise.all([0, 1, 2, 3].map((i) => nodeOf(`spread-${i}`)))).every(Boolean));
    const nodes = await Promise.all([0, 1, 2, 3].map((i) => nodeOf(`spread-${i}`)));
    expect(nodes.filter((n) => n === 'node-a')).toHaveLength(2);
    expect(nodes.filter((n) => n === 'node-b')).toHaveLength(2);
    // The node agent's finalizer comes with the bind, so the agent can start the container at once.
    const bound = await api.client.get<Container>(RESOURCES.containers, 'spread-0', 'default');
    expect(bound.metadata.finalizers).toEqual([AGENT_FINALIZER]);
  });

  it('leaves a container that fits nowhere unscheduled with a FailedScheduling event, and binds it once a node has room', async () => {
    await api.client.create(RESOURCES.containers, newContainer('huge', '64Gi'));
    await until(async () => {
      const events = await api.client.list(RESOURCES.events, { namespace: 'default', fieldSelector: 'involvedObject.name=huge' }).catch(() => ({ items: [] as KubeObject[] }));
      return events.items.some((e) => e.reason === 'FailedScheduling');
    });
    const events = await api.client.list(RESOURCES.events, { namespace: 'default' });
    const failed = events.items.find((e) => e.reason === 'FailedScheduling' && (e.involvedObject as { name: string }).name === 'huge')!;
    expect(failed.message).toBe('0/3 nodes are available: node-a: insufficient memory; node-b: insufficient memory; node-down: node is not Ready');
    expect(await nodeOf('huge')).toBeUndefined();
    const big = newNode('node-big', true, '128Gi');
    await api.client.create(RESOURCES.nodes, { metadata: big.metadata, spec: big.spec });
    await api.client.patch(RESOURCES.nodes, 'node-big', { status: big.status }, { subresource: 'status' });
    await until(async () => (await nodeOf('huge')) === 'node-big');
  });

  it('spreads a burst of creates evenly: a container whose bind is in flight already counts on its node', async () => {
    const names = Array.from({ length: 21 }, (_, i) => `burst-${i}`);
    await Promise.all(names.map((n) => api.client.create(RESOURCES.containers, newContainer(n))));
    await until(async () => (await Promise.all(names.map(nodeOf))).every(Boolean));
    const all = (await api.client.list<Container>(RESOURCES.containers, { namespace: 'default' })).items;
    const perNode = ['node-a', 'node-b', 'node-big'].map((node) => all.filter((c) => c.spec.nodeName === node).length);
    // 26 containers over three nodes, each placed where the fewest were: 9, 9, 8 in some order.
    expect(perNode.sort()).toEqual([8, 9, 9]);
  });

  // Last: its containers would change the counts of the spreading tests.
  it('records a Scheduled Event per bind once the binds quieten down, timestamped when the bind was made', async () => {
    const before = Date.now();
    for (let i = 0; i < 3; i++) await api.client.create(RESOURCES.containers, newContainer(`told-${i}`));
    await until(async () => (await Promise.all([0, 1, 2].map((i) => nodeOf(`told-${i}`)))).every(Boolean));
    const boundBy = Date.now();
    const scheduled = await until(async () => {
      const events = (await api.client.list<KubeObject & { reason?: string; message?: string; firstTimestamp?: string }>(RESOURCES.events, { namespace: 'default' })).items;
      const found = events.filter((e) => e.reason === 'Scheduled' && /^assigned default\/told-\d to node-\w+$/.test(e.message ?? ''));
      return found.length === 3 ? found : undefined;
    });
    for (const e of scheduled) {
      expect(Date.parse(e.firstTimestamp!)).toBeGreaterThanOrEqual(before - 1000);
      expect(Date.parse(e.firstTimestamp!)).toBeLessThanOrEqual(boundBy + 1000);
    }
  });
});
