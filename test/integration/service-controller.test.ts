import { Container, KubeObject, RESOURCES, Service } from '../../client';
import { ServiceController } from '../../controllers/service';
import { startApiServer, TestApiServer } from '../helpers/apiserver';

const until = async (cond: () => Promise<boolean>, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
};

/** Stands in for node agents: every container becomes Running and ready once it exists. */
function readyEverything(api: TestApiServer): () => void {
  let stopped = false;
  void (async () => {
    while (!stopped) {
      const list = await api.client.list<Container>(RESOURCES.containers, { namespace: 'default' }).catch(() => ({ items: [] as Container[] }));
      for (const c of list.items) {
        if (c.status?.ready || c.metadata.deletionTimestamp) continue;
        const now = new Date().toISOString();
        await api.client
          .patch(RESOURCES.containers, c.metadata.name!, { status: { phase: 'Running', ready: true, restartCount: 0, conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }] } }, { namespace: 'default', subresource: 'status' })
          .catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, 30));
    }
  })();
  return () => void (stopped = true);
}

const newService = (name: string, image: string, strategy: object, replicas = 3): KubeObject => ({
  metadata: { name, namespace: 'default' },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { image, command: ['sleep', '1000'] } }, strategy },
});

describe('service controller against a real API server', () => {
  let api: TestApiServer;
  let controller: ServiceController;
  let stopAgents: () => void;
  beforeAll(async () => {
    api = await startApiServer();
    controller = new ServiceController(api.client);
    await controller.start();
    stopAgents = readyEverything(api);
  });
  afterAll(async () => {
    stopAgents();
    await controller.stop();
    await api.stop();
  });

  const svc = (name: string) => api.client.get<Service>(RESOURCES.services, name, 'default');
  const owned = async (name: string) =>
    (await api.client.list<Container>(RESOURCES.containers, { namespace: 'default', labelSelector: `berth.dev/service=${name}` })).items.filter((c) => !c.metadata.deletionTimestamp);
  const healthy = (name: string, revision?: string) => async () => {
    const s = (await svc(name)).status as { rollout?: { phase: string }; readyReplicas?: number; currentRevision?: string; updateRevision?: string } | undefined;
    return s?.rollout?.phase === 'Healthy' && (!revision || s.currentRevision === s.updateRevision);
  };

  it('owns replicas through ownerReferences, heals a deleted one, rolls out a new template and scales through /scale', async () => {
    await api.client.create(RESOURCES.services, newService('web', 'busybox:1', { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }));
    await until(healthy('web'));
    let containers = await owned('web');
    expect(containers).toHaveLength(3);
    const first = (await svc('web')).status!.currentRevision as string;
    expect(containers.every((c) => c.metadata.name!.startsWith(`web-${first}-`))).toBe(true);
    expect(containers[0].metadata.ownerReferences![0]).toMatchObject({ kind: 'Service', name: 'web', controller: true });

    await api.client.delete(RESOURCES.containers, containers[0].metadata.name!, { namespace: 'default' });
    await until(async () => (await owned('web')).length === 3 && (await healthy('web')()));

    await api.client.patch(RESOURCES.services, 'web', { spec: { template: { spec: { image: 'busybox:2' } } } }, { namespace: 'default' });
    await until(async () => {
      const s = (await svc('web')).status as { currentRevision?: string; updateRevision?: string; rollout?: { phase: string } };
      return s.currentRevision !== first && s.currentRevision === s.updateRevision && s.rollout?.phase === 'Healthy';
    });
    containers = await owned('web');
    expect(containers.map((c) => c.spec.image)).toEqual(['busybox:2', 'busybox:2', 'busybox:2']);

    await api.client.patch(RESOURCES.services, 'web', { spec: { replicas: 5 } }, { namespace: 'default', subresource: 'scale' });
    await until(async () => (await owned('web')).length === 5);
    const scale = await api.client.get(RESOURCES.services, 'web', 'default');
    expect((scale.spec as { replicas: number }).replicas).toBe(5);
  });

  it('BlueGreen keeps all traffic on the active revision until promoted', async () => {
    await api.client.create(RESOURCES.services, newService('bg', 'busybox:1', { type: 'BlueGreen', blueGreen: { scaleDownDelaySeconds: 0 } }, 2));
    await until(healthy('bg'));
    const active = (await svc('bg')).status!.currentRevision as string;
    await api.client.patch(RESOURCES.services, 'bg', { spec: { template: { spec: { image: 'busybox:2' } } } }, { namespace: 'default' });
    await until(async () => ((await svc('bg')).status as { rollout?: { phase: string } }).rollout?.phase === 'Paused');
    let status = (await svc('bg')).status as { weights: Record<string, number>; rollout: { previewRevision: string } };
    expect(status.weights).toEqual({ [active]: 100 });
    expect(await owned('bg')).toHaveLength(4);
    const preview = status.rollout.previewRevision;
    await api.client.patch(RESOURCES.services, 'bg', { metadata: { annotations: { 'berth.dev/promote': preview } } }, { namespace: 'default' });
    await until(async () => ((await svc('bg')).status as { currentRevision: string }).currentRevision === preview);
    status = (await svc('bg')).status as { weights: Record<string, number>; rollout: { previewRevision: string } };
    expect(status.weights).toEqual({ [preview]: 100 });
    await until(async () => (await owned('bg')).length === 2);
  });
});
