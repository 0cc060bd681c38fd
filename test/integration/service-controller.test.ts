import { Container, Image, KubeObject, RESOURCES, Service } from '../../client';
import { undoTemplate } from '../../cli/commands/rollout';
import { ServiceController } from '../../controllers/service';
import { startApiServer, TestApiServer } from '../helpers/apiserver';
import { until } from '../helpers/until';


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

  it('records revisions for history, and undo restores the previous template pinned to the digest it ran', async () => {
    const digestV1 = `sha256:${'1'.repeat(64)}`;
    await api.client.create(RESOURCES.images, { metadata: { name: 'app', namespace: 'default' }, spec: { ref: 'registry.local/app:v1' } } as KubeObject);
    await api.client.patch(RESOURCES.images, 'app', { status: { digest: digestV1 } }, { namespace: 'default', subresource: 'status' });
    await api.client.create(RESOURCES.services, newService('hist', 'registry.local/app:v1', { type: 'RollingUpdate' }, 1));
    await until(healthy('hist'));
    const c1 = await owned('hist');
    expect(c1[0].spec.image).toBe(`registry.local/app:v1@${digestV1}`);
    await api.client.patch(RESOURCES.services, 'hist', { spec: { template: { spec: { image: 'busybox:2' } } } }, { namespace: 'default' });
    await until(async () => (await owned('hist')).every((c) => c.spec.image === 'busybox:2') && (await healthy('hist')()));
    // The tag moves after the fact; undo must still run the bits revision 1 ran.
    await api.client.patch(RESOURCES.images, 'app', { status: { digest: `sha256:${'2'.repeat(64)}` } }, { namespace: 'default', subresource: 'status' });
    const status = (await svc('hist')).status as unknown as Parameters<typeof undoTemplate>[0];
    expect(status.revisions!.map((r) => r.number)).toEqual([1, 2]);
    const { record, template } = undoTemplate(status);
    expect(record.number).toBe(1);
    await api.client.patch(RESOURCES.services, 'hist', { spec: { template } }, { namespace: 'default' });
    await until(async () => (await owned('hist')).length === 1 && (await owned('hist'))[0].spec.image === `registry.local/app:v1@${digestV1}` && (await healthy('hist')()));
  });

  it('rotating a referenced Secret rolls out a new revision through the strategy', async () => {
    await api.client.create(RESOURCES.secrets, { metadata: { name: 'creds', namespace: 'default' }, stringData: { token: 'a' } } as KubeObject);
    const svcObj = newService('sec', 'busybox:1', { type: 'RollingUpdate' }, 2);
    (svcObj.spec as { template: { spec: Record<string, unknown> } }).template.spec.secrets = [{ name: 'creds' }];
    await api.client.create(RESOURCES.services, svcObj);
    await until(healthy('sec'));
    const before = (await svc('sec')).status!.currentRevision as string;
    await api.client.patch(RESOURCES.secrets, 'creds', { stringData: { token: 'b' } }, { namespace: 'default' });
    await until(async () => {
      const s = (await svc('sec')).status as { currentRevision?: string; rollout?: { phase: string } };
      return s.currentRevision !== before && s.rollout?.phase === 'Healthy';
    });
    expect((await owned('sec')).every((c) => !c.metadata.name!.includes(before))).toBe(true);
  });

  it('pre-pulls a new image on the Ready nodes through an Image before starting containers of the revision', async () => {
    await api.client.create(RESOURCES.nodes, { metadata: { name: 'pp-node' } } as KubeObject);
    const now = new Date().toISOString();
    await api.client.patch(RESOURCES.nodes, 'pp-node', { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'AgentReady', lastTransitionTime: now }] } }, { subresource: 'status' });
    try {
      await api.client.create(RESOURCES.services, newService('pp', 'busybox:1', { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }, 2));
      await until(healthy('pp'));
      await api.client.patch(RESOURCES.services, 'pp', { spec: { template: { spec: { image: 'registry.local/pp:v2' } } } }, { namespace: 'default' });
      const image = await until(async () => (await api.client.list<Image>(RESOURCES.images, { namespace: 'default' })).items.find((i) => i.spec.ref === 'registry.local/pp:v2'));
      expect(image.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Service', name: 'pp' });
      const message = await until(async () => ((await svc('pp')).status as { rollout?: { message?: string } }).rollout?.message?.startsWith('pre-pulling') && (await svc('pp')).status!.rollout);
      expect(message).toMatchObject({ phase: 'Progressing', message: 'pre-pulling registry.local/pp:v2: 0 of 1 node(s) hold it, waiting for pp-node' });
      await new Promise((r) => setTimeout(r, 1000));
      expect((await owned('pp')).map((c) => c.spec.image)).toEqual(['busybox:1', 'busybox:1']);
      const events = (await api.client.list(RESOURCES.events, { namespace: 'default' })).items;
      expect(events.some((e) => e.reason === 'PrePulling' && (e.involvedObject as { name: string }).name === 'pp')).toBe(true);

      // The node's Image controller reports the image present: the rollout starts, pinned to the digest it pulled.
      const digest = `sha256:${'3'.repeat(64)}`;
      await api.client.patch(RESOURCES.images, image.metadata.name!, { status: { phase: 'Ready', digest, nodes: ['pp-node'], conditions: [{ type: 'Ready', status: 'True', reason: 'Present', lastTransitionTime: now }] } }, { namespace: 'default', subresource: 'status' });
      await until(async () => (await owned('pp')).every((c) => c.spec.image === `registry.local/pp:v2@${digest}`) && (await healthy('pp', 'updated')()));
      const status = (await svc('pp')).status as { revisions: Array<{ number: number; images?: Record<string, string> }> };
      expect(status.revisions.map((r) => r.number)).toEqual([1, 2]);
      expect(status.revisions[1].images).toEqual({ 'registry.local/pp:v2': digest });
      const pulled = (await api.client.list(RESOURCES.events, { namespace: 'default' })).items.find((e) => e.reason === 'PrePulled' && (e.involvedObject as { name: string }).name === 'pp');
      expect(pulled?.message).toBe('pre-pulled registry.local/pp:v2 on 1 node(s)');
    } finally {
      await api.client.delete(RESOURCES.nodes, 'pp-node', {});
    }
  });
});
