import { ApiClient, KubeObject, RESOURCES } from '../../client';
import { Controller, Informer, LeaderElector, leaseLockFor, listWatcherFor } from '../../controllers/runtime';
import { startApiServer, TestApiServer } from '../helpers/apiserver';
import { until } from '../helpers/until';


const newNetwork = (name: string, labels: Record<string, string> = {}): KubeObject => ({
  metadata: { name, namespace: 'default', labels },
  spec: { driver: 'bridge', subnet: '10.99.0.0/24' },
});

describe('controller runtime against a real API server', () => {
  let api: TestApiServer;
  let client: ApiClient;
  beforeAll(async () => {
    api = await startApiServer();
    client = api.client;
  });
  afterAll(() => api.stop());

  it('informer lists, then follows creates, updates and deletes made by another client; label selectors scope it', async () => {
    await client.create(RESOURCES.networks, newNetwork('pre', { team: 'a' }));
    const informer = new Informer(listWatcherFor(client, RESOURCES.networks, { labelSelector: 'team=a' }));
    const seen: string[] = [];
    informer.addHandlers({
      onAdd: (o) => seen.push(`add ${o.metadata.name}`),
      onUpdate: (a, b) => a !== b && seen.push(`update ${b.metadata.name}`),
      onDelete: (o) => seen.push(`delete ${o.metadata.name}`),
    });
    informer.start();
    await informer.waitForSync();
    expect(informer.list().map((o) => o.metadata.name)).toEqual(['pre']);
    await client.create(RESOURCES.networks, newNetwork('later', { team: 'a' }));
    await client.create(RESOURCES.networks, newNetwork('other', { team: 'b' }));
    await client.patch(RESOURCES.networks, 'later', { metadata: { annotations: { x: '1' } } }, { namespace: 'default' });
    await client.delete(RESOURCES.networks, 'pre', { namespace: 'default' });
    await until(() => seen.length >= 4);
    informer.stop();
    expect(seen).toEqual(['add pre', 'add later', 'update later', 'delete pre']);
    expect(informer.get('default/later')!.metadata.annotations).toEqual({ x: '1' });
    expect(informer.get('default/other')).toBeUndefined();
  });

  it('a controller reconciles each key level-triggered, retrying failures', async () => {
    const informer = new Informer(listWatcherFor(client, RESOURCES.networks));
    const attempts = new Map<string, number>();
    const controller = new Controller({
      name: 'test',
      log: () => undefined,
      reconcile: async (key) => {
        const n = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, n);
        if (key === 'default/flaky' && n < 3) throw new Error('transient');
      },
    });
    informer.addHandlers({ onAdd: (o) => controller.enqueue(`${o.metadata.namespace}/${o.metadata.name}`) });
    controller.start();
    informer.start();
    await client.create(RESOURCES.networks, newNetwork('flaky'));
    await until(() => (attempts.get('default/flaky') ?? 0) >= 3);
    informer.stop();
    await controller.stop();
    expect(attempts.get('default/flaky')).toBe(3);
  });

  it('exactly one of two candidates leads through a Lease, and the other takes over when it stops', async () => {
    const events: string[] = [];
    const make = (id: string) =>
      new LeaderElector({
        lock: leaseLockFor(client, 'default', 'test-leader'),
        identity: id,
        leaseDurationMs: 1000,
        retryPeriodMs: 100,
        onStartedLeading: () => events.push(`${id} leads`),
        onStoppedLeading: () => events.push(`${id} stops`),
      });
    const a = make('a');
    const b = make('b');
    a.start();
    await until(() => a.isLeader());
    b.start();
    await new Promise((r) => setTimeout(r, 400));
    expect(b.isLeader()).toBe(false);
    a.stop();
    await until(() => b.isLeader(), 5000);
    b.stop();
    expect(events).toEqual(['a leads', 'a stops', 'b leads', 'b stops']);
    const lease = await client.get<KubeObject & { spec: { holderIdentity: string; leaseTransitions: number } }>(RESOURCES.leases, 'test-leader', 'default');
    expect(lease.spec.holderIdentity).toBe('b');
    expect(lease.spec.leaseTransitions).toBe(1);
  });
});
