/**
 * Verified drain: when a Service's replica is removed, its container keeps running while a connection through
 * the service proxy is still open to it, and stops once that connection ends — no timer decides.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { Container, KubeObject, RESOURCES, Service } from '../../client';
import { testTag } from '../../node-agent/network/testing';
import { startCluster, TestCluster } from '../helpers/cluster';
import { freePort } from '../helpers/ports';
import { until } from '../helpers/until';

const namespace = `dr-${testTag()}`;
let cluster: TestCluster;
let port: number;

beforeAll(async () => {
  cluster = await startCluster();
  port = await freePort();
  await cluster.api.client.create(RESOURCES.namespaces, { metadata: { name: namespace } });
  const svc: KubeObject = {
    metadata: { name: 'echo', namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'echo' } },
      template: {
        metadata: { labels: { app: 'echo' } },
        // An echo server that keeps every connection open until the client closes it.
        spec: { image: 'busybox', command: ['nc', '-ll', '-p', '80', '-e', 'cat'], terminationGracePeriodSeconds: 10, readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 1 } },
      },
      ports: [{ port: 80, targetPort: 80, publishedPort: port }],
    },
  };
  await cluster.api.client.create(RESOURCES.services, svc);
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

test('a removed replica stops only after its in-flight connection ends', async () => {
  await until(async () => ((await cluster.api.client.get<Service>(RESOURCES.services, 'echo', namespace)).status as { readyReplicas?: number } | undefined)?.readyReplicas === 1, 30_000);
  const conn = await until(
    () =>
      new Promise<net.Socket | undefined>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port }, () => {
          s.write('hello\n');
          s.once('data', (d) => resolve(d.toString() === 'hello\n' ? s : undefined));
        });
        s.once('error', () => resolve(undefined));
        setTimeout(() => resolve(undefined), 2000);
      }),
    30_000,
  );
  const [replica] = (await cluster.api.client.list<Container>(RESOURCES.containers, { namespace, labelSelector: 'app=echo' })).items;
  const pid = (replica.status as { pid: number }).pid;
  await cluster.api.client.patch(RESOURCES.services, 'echo', { spec: { replicas: 0 } }, { namespace, subresource: 'scale' });
  await until(async () => !!(await cluster.api.client.get<Container>(RESOURCES.containers, replica.metadata.name!, namespace)).metadata.deletionTimestamp);
  await new Promise((r) => setTimeout(r, 2000));
  // Being deleted, out of the rotation, but serving the open connection: still alive and still answering.
  expect(fs.existsSync(`/proc/${pid}`)).toBe(true);
  conn.write('still there\n');
  expect(await new Promise((r) => conn.once('data', (d) => r(d.toString())))).toBe('still there\n');
  const closedAt = Date.now();
  conn.destroy();
  await until(async () => !fs.existsSync(`/proc/${pid}`), 9_000, 'the container to stop after the drain');
  expect(Date.now() - closedAt).toBeLessThan(8_000);
}, 90_000);
