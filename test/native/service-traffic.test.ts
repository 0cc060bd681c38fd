/**
 * Services through the whole cluster with real containers and real traffic on loopback: the published port and
 * the Service name reach the replicas, a canary gets its weight's share, a failing canary is aborted by the
 * proxy's measurements, and a BlueGreen switch is atomic while the preview port serves the new revision.
 */
import * as net from 'node:net';
import { KubeObject, Network, RESOURCES, Service } from '../../client';
import { PROMOTE_ANNOTATION } from '../../controllers/service';
import { bridgeName, containerNetnsName, listBerthResources, resourcesNamed } from '../../node-agent/network';
import { testTag } from '../../node-agent/network/testing';
import { startCluster, TestCluster } from '../helpers/cluster';
import { request as get } from '../helpers/load';
import { freePort } from '../helpers/ports';
import { until } from '../helpers/until';

const serving = (version: string) => ['sh', '-c', `mkdir -p /www && echo ${version} > /www/index.html && exec httpd -f -p 80 -h /www`];
/** An httpd whose every answer is a 500 (a CGI as the index; CRLF line ends, which Node's HTTP parser insists on). */
const failing = [
  'sh',
  '-c',
  `mkdir -p /www/cgi-bin && printf '%s\\n' '#!/bin/sh' 'printf "Status: 500 Internal Server Error\\r\\nContent-Type: text/plain\\r\\n\\r\\nbroken\\n"' > /www/cgi-bin/index.cgi && chmod +x /www/cgi-bin/index.cgi && exec httpd -f -p 80 -h /www`,
];

const namespace = `st-${testTag()}`;
let cluster: TestCluster;
let webPort: number;
let bluePort: number;
let previewPort: number;

const client = () => cluster.api.client;
const getService = (name: string) => client().get<Service>(RESOURCES.services, name, namespace);
const statusOf = async (name: string) =>
  (await getService(name)).status as { updateRevision?: string; currentRevision?: string; weights?: Record<string, number>; rollout?: { phase?: string; previewRevision?: string; message?: string }; traffic?: Record<string, { requests: number; errorRate: number }> };
const setTemplate = (name: string, command: string[]) => client().patch(RESOURCES.services, name, { spec: { template: { spec: { command } } } }, { namespace });
const promote = (name: string, value: string) => client().patch(RESOURCES.services, name, { metadata: { annotations: { [PROMOTE_ANNOTATION]: value } } }, { namespace });
const requests = async (port: number, n: number) => {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await get(port));
  return out;
};
const count = (responses: string[], wanted: string) => responses.filter((r) => r === wanted).length;

const service = (name: string, port: number, strategy: object, command: string[], replicas: number): KubeObject => ({
  metadata: { name, namespace },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      // Ready once httpd listens: a canary must not be judged on connections refused while it starts.
      spec: { image: 'busybox', command, terminationGracePeriodSeconds: 1, readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 1 } },
    },
    ports: [{ port: 80, targetPort: 80, publishedPort: port }],
    strategy,
  },
});

beforeAll(async () => {
  cluster = await startCluster();
  [webPort, bluePort, previewPort] = [await freePort(), await freePort(), await freePort()];
  await client().create(RESOURCES.namespaces, { metadata: { name: namespace } });
  const canary = { type: 'Canary', canary: { steps: [{ setWeight: 25 }, { pause: {} }], analysis: { maxErrorRate: 0.2, minRequests: 20 } } };
  await client().create(RESOURCES.services, service('web', webPort, canary, serving('v1'), 2));
  await client().create(RESOURCES.services, service('blue', bluePort, { type: 'BlueGreen', blueGreen: { previewPort, scaleDownDelaySeconds: 1 } }, serving('blue-v1'), 1));
  await client().create(RESOURCES.containers, { metadata: { name: 'probe', namespace }, spec: { image: 'busybox', command: ['sleep', '1000'], terminationGracePeriodSeconds: 1 } });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

test('a Service answers on its published port from the host and by name from a container', async () => {
  await until(async () => (await get(webPort)) === '200 v1');
  expect(count(await requests(webPort, 20), '200 v1')).toBe(20);
  const exec = async (args: string[]) => {
    const h = await cluster.runtime.exec(`${namespace}.probe`, { args: ['timeout', '3', ...args] }, { stdout: 'pipe', stderr: 'pipe' });
    let out = '';
    h.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await h.wait();
    return out.trim();
  };
  expect(await until(async () => (await exec(['wget', '-q', '-O', '-', 'http://web/'])) === 'v1')).toBe(true);
  expect(await exec(['wget', '-q', '-O', '-', `http://web.${namespace}/`])).toBe('v1');
}, 60_000);

test('Canary at setWeight 25: about a quarter of 400 requests reach the canary, none fail', async () => {
  await setTemplate('web', serving('v2'));
  await until(async () => {
    const st = await statusOf('web');
    return st.updateRevision !== st.currentRevision && st.weights?.[st.updateRevision!] === 25 && (await get(webPort)) === '200 v2' ? st : undefined;
  }, 30_000);
  const responses = await requests(webPort, 400);
  expect(count(responses, '200 v1') + count(responses, '200 v2')).toBe(400);
  expect(count(responses, '200 v2')).toBeGreaterThanOrEqual(80);
  expect(count(responses, '200 v2')).toBeLessThanOrEqual(120);
  const st = await statusOf('web');
  const traffic = await until(async () => (await statusOf('web')).traffic?.[st.updateRevision!]);
  expect(traffic.requests).toBeGreaterThan(0);
  expect(traffic.errorRate).toBe(0);
  await promote('web', `${st.updateRevision}:full`);
  await until(async () => (await statusOf('web')).currentRevision === st.updateRevision);
  expect(count(await requests(webPort, 20), '200 v2')).toBe(20);
}, 90_000);

test('a canary answering 500s is aborted by the analysis and all traffic returns to the stable revision', async () => {
  await setTemplate('web', failing);
  const broken = await until(async () => {
    const st = await statusOf('web');
    return st.updateRevision !== st.currentRevision && (st.weights?.[st.updateRevision!] ?? 0) > 0 ? st.updateRevision : undefined;
  }, 30_000).catch(async (err) => {
    throw new Error(`${err.message}: ${JSON.stringify(await statusOf('web'))}`);
  });
  const seen: string[] = [];
  const aborted = await until(async () => {
    seen.push(...(await requests(webPort, 10)));
    const st = await statusOf('web');
    return st.rollout?.phase === 'Aborted' ? st : undefined;
  }, 60_000);
  expect(aborted.rollout?.message).toMatch(/failed analysis/);
  expect(seen).toContain('500 broken');
  expect(seen.filter((r) => r !== '500 broken' && r !== '200 v2')).toEqual([]);
  expect((await statusOf('web')).traffic?.[broken!]?.errorRate).toBeGreaterThan(0.2);
  await until(async () => (await statusOf('web')).weights?.[broken!] === undefined);
  expect(count(await requests(webPort, 50), '200 v2')).toBe(50);
}, 90_000);

test('BlueGreen: the preview port serves the new revision, then promotion switches the published port at once', async () => {
  await until(async () => (await get(bluePort)) === '200 blue-v1');
  await setTemplate('blue', serving('blue-v2'));
  const preview = await until(async () => {
    const st = await statusOf('blue');
    return st.rollout?.previewRevision && (await get(previewPort)) === '200 blue-v2' ? st.rollout.previewRevision : undefined;
  }, 30_000).catch(async (err) => {
    throw new Error(`${err.message}: ${JSON.stringify(await statusOf('blue'))} preview port: ${await get(previewPort)}`);
  });
  expect(count(await requests(bluePort, 20), '200 blue-v1')).toBe(20);
  const during: string[] = [];
  let stop = false;
  const load = (async () => {
    while (!stop) during.push(await get(bluePort));
  })();
  await promote('blue', preview);
  await until(async () => during.slice(-5).every((r) => r === '200 blue-v2') && during.length > 5);
  stop = true;
  await load;
  expect(during.every((r) => r === '200 blue-v1' || r === '200 blue-v2')).toBe(true);
  const firstNew = during.indexOf('200 blue-v2');
  expect(during.slice(firstNew).every((r) => r === '200 blue-v2')).toBe(true); // no flapping back: one switch
}, 90_000);

test('a published port already taken on the node is a PortInUse Warning Event on the Service', async () => {
  const squatter = net.createServer();
  const taken = await new Promise<number>((resolve) => squatter.listen(0, '127.0.0.1', () => resolve((squatter.address() as net.AddressInfo).port)));
  try {
    await client().create(RESOURCES.services, service('squatted', taken, { type: 'RollingUpdate' }, serving('x'), 0));
    const event = await until(async () => (await client().list(RESOURCES.events, { namespace })).items.find((e) => e.reason === 'PortInUse' && (e.involvedObject as { name: string }).name === 'squatted'));
    expect(event.type).toBe('Warning');
    expect(event.message).toContain(`ports[].publishedPort ${taken}`);
  } finally {
    squatter.close();
  }
});

test('the cluster leaves no bridge, veth or namespace behind, and the published ports close', async () => {
  const nets = await client().list<Network>(RESOURCES.networks, { namespace });
  const containers = await client().list(RESOURCES.containers, { namespace });
  await cluster.stop();
  cluster = undefined as unknown as TestCluster;
  const names = [...nets.items.map((n) => bridgeName(n.metadata.uid!)), ...containers.items.map((c) => containerNetnsName(`${namespace}.${c.metadata.name}`))];
  expect(resourcesNamed(await listBerthResources(), names)).toEqual([]);
  expect(await get(webPort)).toBe('error');
}, 60_000);
