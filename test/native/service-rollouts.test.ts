/**
 * Rollouts under load: a load generator in its own process keeps requesting a Service's published port while each
 * strategy takes it from v1 to v2. RollingUpdate (start-first), BlueGreen and Canary must not fail one request;
 * Recreate's downtime (the longest time without an answer) is measured and printed. A canary at setWeight 20 gets
 * 20% ± 5% of 1,000 requests.
 */
import { Container, KubeObject, Network, RESOURCES, Service } from '../../client';
import { PROMOTE_ANNOTATION, REVISION_LABEL, SERVICE_LABEL } from '../../controllers/service';
import { bridgeName, listBerthResources, resourcesNamed } from '../../node-agent/network';
import { testTag } from '../../node-agent/network/testing';
import { startCluster, TestCluster } from '../helpers/cluster';
import { LoadReport, request, runLoad, RunningLoad, startLoad } from '../helpers/load';
import { freePort } from '../helpers/ports';
import { until } from '../helpers/until';

const namespace = `sr-${testTag()}`;
let cluster: TestCluster;
const ports: Record<string, number> = {};
let previewPort: number;
/** Every load started, so that one a failed test left running is stopped too. */
const loads: RunningLoad[] = [];

const client = () => cluster.api.client;
const serving = (version: string) => ['sh', '-c', `mkdir -p /www && echo ${version} > /www/index.html && exec httpd -f -p 80 -h /www`];
interface StatusView {
  updateRevision?: string;
  currentRevision?: string;
  weights?: Record<string, number>;
  rollout?: { phase?: string; stepIndex?: number; previewRevision?: string };
}
const statusOf = async (name: string) => ((await client().get<Service>(RESOURCES.services, name, namespace)).status ?? {}) as StatusView;
const setVersion = (name: string, version: string) => client().patch(RESOURCES.services, name, { spec: { template: { spec: { command: serving(version) } } } }, { namespace });
const promote = (name: string, value: string) => client().patch(RESOURCES.services, name, { metadata: { annotations: { [PROMOTE_ANNOTATION]: value } } }, { namespace });

const service = (name: string, strategy: object): KubeObject => ({
  metadata: { name, namespace },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      // Ready once httpd listens: an endpoint must not get traffic before.
      spec: { image: 'busybox', command: serving('v1'), terminationGracePeriodSeconds: 1, readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 1 } },
    },
    ports: [{ port: 80, targetPort: 80, publishedPort: ports[name] }],
    strategy,
  },
});

/** One Service per strategy, named for it. */
const strategies = (): Record<string, object> => ({
  rolling: { type: 'RollingUpdate', rollingUpdate: { order: 'start-first', maxSurge: 1, maxUnavailable: 0 } },
  blue: { type: 'BlueGreen', blueGreen: { previewPort, scaleDownDelaySeconds: 1 } },
  canary: { type: 'Canary', canary: { steps: [{ setWeight: 20 }, { pause: {} }, { setWeight: 60 }, { pause: { duration: 1 } }] } },
  recreate: { type: 'Recreate' },
});

/** Starts a load on `name`'s published port once v1 answers there. */
async function loadOn(name: string) {
  await until(async () => (await request(ports[name])) === '200 v1', 30_000, `${name} serving v1`);
  const load = await startLoad({ port: ports[name] });
  loads.push(load);
  return load;
}

/**
 * Waits until `name` is fully on a new revision: status says so and no Container of another revision is left
 * (the old ones were drained and stopped while the load ran).
 */
async function rolledOut(name: string, from: string | undefined): Promise<string> {
  return until(
    async () => {
      const st = await statusOf(name);
      if (!st.currentRevision || st.currentRevision === from || st.currentRevision !== st.updateRevision || st.rollout?.phase !== 'Healthy') return undefined;
      const containers = (await client().list<Container>(RESOURCES.containers, { namespace, labelSelector: `${SERVICE_LABEL}=${name}` })).items;
      return containers.every((c) => c.metadata.labels?.[REVISION_LABEL] === st.currentRevision && !c.metadata.deletionTimestamp) ? st.currentRevision : undefined;
    },
    40_000,
    `${name} rolled out`,
  );
}

/** One line per rollout in the test output: what the load saw. */
function report(strategy: string, r: LoadReport): void {
  const bodies = Object.fromEntries(Object.entries(r.bodies).map(([body, b]) => [body, b.count]));
  const slowest = r.latenciesMs.reduce((a, b) => Math.max(a, b), 0);
  console.log(`${strategy}: ${r.ok} ok, ${r.failed} failed ${JSON.stringify(r.failures)}, by version ${JSON.stringify(bodies)}, longest gap without an answer ${r.longestGapMs} ms, slowest request ${slowest} ms, over ${Math.round(r.elapsedMs)} ms`);
}

beforeAll(async () => {
  cluster = await startCluster();
  previewPort = await freePort();
  for (const name of Object.keys(strategies())) ports[name] = await freePort();
  await client().create(RESOURCES.namespaces, { metadata: { name: namespace } });
  for (const [name, strategy] of Object.entries(strategies())) await client().create(RESOURCES.services, service(name, strategy));
}, 60_000);

afterAll(async () => {
  await Promise.all(loads.map((l) => l.stop().catch(() => undefined)));
  await cluster?.stop();
}, 60_000);

test('RollingUpdate start-first: v1→v2 without one failed request, both versions served on the way', async () => {
  const load = await loadOn('rolling');
  const from = (await statusOf('rolling')).currentRevision;
  await setVersion('rolling', 'v2');
  await rolledOut('rolling', from);
  const r = await load.stop();
  report('RollingUpdate', r);
  expect(r.failures).toEqual({});
  expect(r.bodies.v1?.count).toBeGreaterThan(0);
  expect(r.bodies.v2?.count).toBeGreaterThan(0);
  expect(Object.keys(r.bodies).sort()).toEqual(['v1', 'v2']);
}, 60_000);

test('BlueGreen: promotion switches v1→v2 once, without one failed request, and the old revision goes under load', async () => {
  const load = await loadOn('blue');
  const from = (await statusOf('blue')).currentRevision;
  await setVersion('blue', 'v2');
  const preview = await until(async () => {
    const st = await statusOf('blue');
    return st.rollout?.previewRevision && (await request(previewPort)) === '200 v2' ? st.rollout.previewRevision : undefined;
  }, 30_000, 'the preview port serving v2');
  await promote('blue', preview);
  await rolledOut('blue', from);
  const r = await load.stop();
  report('BlueGreen', r);
  expect(r.failures).toEqual({});
  expect(Object.keys(r.bodies).sort()).toEqual(['v1', 'v2']);
  // One atomic switch: no request sent after a v2 answer arrived was served by v1.
  expect(r.bodies.v1.lastStartMs).toBeLessThan(r.bodies.v2.firstDoneMs);
}, 60_000);

test('Canary: 20% of 1,000 requests reach the canary at setWeight 20, and the steps to full promotion fail no request', async () => {
  const load = await loadOn('canary');
  const from = (await statusOf('canary')).currentRevision;
  await setVersion('canary', 'v2');
  const st = await until(async () => {
    const s = await statusOf('canary');
    return s.rollout?.phase === 'Paused' && s.updateRevision !== from && s.weights?.[s.updateRevision!] === 20 ? s : undefined;
  }, 30_000, 'the canary paused at 20%');
  await until(async () => (await request(ports.canary)) === '200 v2', 10_000, 'the proxy sending the canary its share');
  const sample = await runLoad({ port: ports.canary, requests: 1000 });
  const share = (sample.bodies.v2?.count ?? 0) / 1000;
  console.log(`Canary at setWeight 20: ${sample.bodies.v2?.count ?? 0} of 1000 requests on v2 (${(share * 100).toFixed(1)}%), ${sample.failed} failed`);
  expect(sample.failed).toBe(0);
  expect(share).toBeGreaterThanOrEqual(0.15);
  expect(share).toBeLessThanOrEqual(0.25);
  await promote('canary', `${st.updateRevision}:${st.rollout?.stepIndex}`);
  await rolledOut('canary', from);
  const r = await load.stop();
  report('Canary', r);
  expect(r.failures).toEqual({});
  expect(Object.keys(r.bodies).sort()).toEqual(['v1', 'v2']);
}, 60_000);

test('Recreate: the downtime between stopping v1 and serving v2 is measured, not hidden', async () => {
  const load = await loadOn('recreate');
  const from = (await statusOf('recreate')).currentRevision;
  await setVersion('recreate', 'v2');
  await rolledOut('recreate', from);
  await until(async () => (await request(ports.recreate)) === '200 v2', 10_000, 'recreate serving v2');
  const r = await load.stop();
  report('Recreate', r);
  // The proxy holds new connections (boundedly) while no endpoint is ready: the downtime shows as the gap between
  // answers and as the latency of the requests that waited through it (both printed), as failures only past that bound.
  expect(r.longestGapMs).toBeGreaterThan(100);
  expect(r.longestGapMs).toBeLessThan(20_000);
  expect(Object.keys(r.bodies).sort()).toEqual(['v1', 'v2']);
  expect(r.bodies.v1.lastStartMs).toBeLessThan(r.bodies.v2.firstDoneMs); // never both at once
}, 60_000);

test('the cluster leaves no bridge behind and the published ports close', async () => {
  const nets = await client().list<Network>(RESOURCES.networks, { namespace });
  await cluster.stop();
  cluster = undefined as unknown as TestCluster;
  expect(resourcesNamed(await listBerthResources(), nets.items.map((n) => bridgeName(n.metadata.uid!)))).toEqual([]);
  for (const port of [...Object.values(ports), previewPort]) expect(await request(port)).toBe('error');
}, 60_000);
