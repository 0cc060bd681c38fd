/**
 * The node's service proxies against a real API server, with a TCP server on loopback standing in for a replica
 * (no containers): a drain takes the endpoint out of rotation the moment the supervisor asks, before the proxies'
 * own watch has seen any deletion, and the exclusion ends with that Container (a new one of the same name serves);
 * the published port comes back by itself if the relay process carrying it dies; and a published port another
 * process holds is a PortInUse Event, then served once it is free, with no object changed.
 */
import * as net from 'node:net';
import { KubeObject, RESOURCES } from '../../client';
import { REVISION_LABEL, SERVICE_LABEL } from '../../controllers/service';
import { REASON_PORT_IN_USE, ServiceProxies } from '../../node-agent/agent/service-proxies';
import { NodeNetworking } from '../../node-agent/network';
import { proxyRelay } from '../../node-agent/proxy/relay';
import { startApiServer, TestApiServer } from '../helpers/apiserver';
import { request } from '../helpers/load';
import { freePort } from '../helpers/ports';
import { until } from '../helpers/until';

const namespace = 'default';
let api: TestApiServer;
let proxies: ServiceProxies;
let replica: net.Server;
let replicaPort: number;
let publishedPort: number;

/** A Container of Service `service` that is ready at 127.0.0.1 (where `replica` listens). */
async function readyContainer(name: string, service = 'web'): Promise<void> {
  await api.client.create(RESOURCES.containers, {
    metadata: { name, namespace, labels: { [SERVICE_LABEL]: service, [REVISION_LABEL]: 'r1' } },
    spec: { image: 'busybox' },
  });
  await api.client.patch(RESOURCES.containers, name, { status: { phase: 'Running', ready: true, ip: '127.0.0.1' } }, { namespace, subresource: 'status' });
}

const createService = (name: string, port: number) =>
  api.client.create(RESOURCES.services, {
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { image: 'busybox' } },
      ports: [{ port: 80, targetPort: replicaPort, publishedPort: port }],
    },
  });

beforeAll(async () => {
  api = await startApiServer();
  replicaPort = await freePort();
  publishedPort = await freePort();
  replica = net.createServer((s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nr1\n')).listen(replicaPort, '127.0.0.1');
  await createService('web', publishedPort);
  proxies = new ServiceProxies({ client: api.client, networking: new NodeNetworking(), networkKeyOf: () => undefined });
  await proxies.start();
}, 30_000);

afterAll(async () => {
  proxies?.stop();
  replica?.close();
  await api?.stop();
});

test('a drain takes the endpoint out of rotation at once, and only for that Container', async () => {
  await readyContainer('web-r1-0');
  expect(await until(async () => (await request(publishedPort)) === '200 r1', 10_000, 'the proxy serving the replica')).toBe(true);
  // Nothing was deleted: only the drain call can take it out (the bound only lets the last request's sockets close).
  expect(await proxies.drained(namespace, 'web-r1-0', 2000)).toBe(true);
  expect(await request(publishedPort)).toBe('error'); // the proxy waits for an endpoint, then gives up
  await api.client.delete(RESOURCES.containers, 'web-r1-0', { namespace });
  await readyContainer('web-r1-0');
  expect(await until(async () => (await request(publishedPort)) === '200 r1', 10_000, 'a new Container of the same name serving')).toBe(true);
}, 30_000);

test('the published port serves again, same rotation, after the relay process was killed', async () => {
  expect(await until(async () => (await request(publishedPort)) === '200 r1', 10_000, 'the proxy serving the replica')).toBe(true);
  const pid = proxyRelay.pid!;
  process.kill(pid, 'SIGKILL');
  expect(await until(async () => (await request(publishedPort)) === '200 r1', 10_000, 'the port back after the relay died')).toBe(true);
  expect(proxyRelay.pid).not.toBe(pid);
}, 30_000);

test('a published port held by another process is a PortInUse Event, and is served once it is freed', async () => {
  const port = await freePort();
  const holder = net.createServer().listen(port, '127.0.0.1');
  await new Promise((resolve) => holder.once('listening', resolve));
  await createService('taken', port);
  await readyContainer('taken-r1-0', 'taken');
  const events = async () => (await api.client.list<KubeObject & { reason?: string; involvedObject?: { name?: string } }>(RESOURCES.events, { namespace })).items;
  await until(async () => (await events()).some((e) => e.reason === REASON_PORT_IN_USE && e.involvedObject?.name === 'taken'), 10_000, 'the PortInUse Event');
  await new Promise((resolve) => holder.close(resolve));
  expect(await until(async () => (await request(port)) === '200 r1', 10_000, 'the freed port served')).toBe(true);
}, 30_000);
