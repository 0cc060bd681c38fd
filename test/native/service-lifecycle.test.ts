/**
 * A Service's replicas through a real one-node cluster: a killed container process is replaced by a ready one
 * within 2 s, a deleted Container is recreated, and scaling through the /scale subresource 5 → 10 → 2 converges to
 * exactly that many ready replicas with the extra ones gone.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { Container, KubeObject, RESOURCES, Service } from '../../client';
import { containerNetnsName, listBerthResources, resourcesNamed } from '../../node-agent/network';
import { testTag } from '../../node-agent/network/testing';
import { startCluster, TestCluster } from '../helpers/cluster';
import { until } from '../helpers/until';

const namespace = `lc-${testTag()}`;
let cluster: TestCluster;

const client = () => cluster.api.client;
const replicas = async () => (await client().list<Container>(RESOURCES.containers, { namespace, labelSelector: 'app=life' })).items;
type ReplicaStatus = { ready?: boolean; pid?: number; phase?: string; restartCount?: number };
const statusOf = (c: Container) => (c.status ?? {}) as ReplicaStatus;
const readyReplicas = async () => (await replicas()).filter((c) => !c.metadata.deletionTimestamp && statusOf(c).ready);
/** Exactly `n` Containers exist (none left terminating) and all of them are ready. */
const settledAt = (n: number) => async () => {
  const all = await replicas();
  return all.length === n && all.every((c) => !c.metadata.deletionTimestamp && statusOf(c).ready) ? all : undefined;
};
const scale = (n: number) => client().patch(RESOURCES.services, 'life', { spec: { replicas: n } }, { namespace, subresource: 'scale' });

beforeAll(async () => {
  cluster = await startCluster();
  await client().create(RESOURCES.namespaces, { metadata: { name: namespace } });
  const svc: KubeObject = {
    metadata: { name: 'life', namespace },
    spec: {
      replicas: 5,
      selector: { matchLabels: { app: 'life' } },
      template: {
        metadata: { labels: { app: 'life' } },
        spec: {
          image: 'busybox',
          command: ['sh', '-c', 'mkdir -p /www && echo v1 > /www/index.html && exec httpd -f -p 80 -h /www'],
          terminationGracePeriodSeconds: 1,
          readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 1 },
        },
      },
    },
  };
  await client().create(RESOURCES.services, svc);
  await until(settledAt(5), 45_000, '5 ready replicas');
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);


test('killing a replica\'s process: a ready replacement within 2 s', async () => {
  const [victim] = await readyReplicas();
  const { pid } = statusOf(victim);
  expect(pid).toBeGreaterThan(1);
  process.kill(pid!, 'SIGKILL');
  const killedAt = Date.now();
  // The same Container restarted in place (a new pid) or a new Container: either way, ready again.
  const replaced = await until(async () => {
    const ready = await readyReplicas();
    const again = ready.find((c) => c.metadata.name === victim.metadata.name && statusOf(c).pid !== pid);
    return ready.length === 5 && (again || !ready.some((c) => c.metadata.name === victim.metadata.name)) ? Date.now() : undefined;
  }, 15_000, 'a ready replacement');
  expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
  console.log(`kill → ready replacement: ${replaced - killedAt} ms (load average ${os.loadavg()[0].toFixed(1)})`);
  expect(replaced - killedAt).toBeLessThanOrEqual(2000);
}, 30_000);

test('deleting a replica\'s Container: a new one is created and becomes ready', async () => {
  const before = await readyReplicas();
  const victim = before[before.length - 1].metadata.name!;
  await client().delete(RESOURCES.containers, victim, { namespace });
  const after = await until(settledAt(5), 20_000, '5 ready replicas after the deletion');
  expect(after.map((c) => c.metadata.uid)).not.toContain(before[before.length - 1].metadata.uid);
}, 30_000);

test('scaling through /scale 5 → 10 → 2 converges to exactly that many ready replicas', async () => {
  await scale(10);
  expect(await until(settledAt(10), 30_000, '10 ready replicas')).toHaveLength(10);
  let svc = await client().get<Service>(RESOURCES.services, 'life', namespace);
  await until(async () => ((await client().get<Service>(RESOURCES.services, 'life', namespace)).status as { readyReplicas?: number }).readyReplicas === 10);
  await scale(2);
  const two = await until(settledAt(2), 30_000, '2 ready replicas, the others gone');
  expect(two).toHaveLength(2);
  svc = await until(async () => {
    const s = await client().get<Service>(RESOURCES.services, 'life', namespace);
    return (s.status as { replicas?: number; readyReplicas?: number }).readyReplicas === 2 && (s.status as { replicas?: number }).replicas === 2 ? s : undefined;
  });
  expect((svc.spec as { replicas: number }).replicas).toBe(2);
  const running = (await cluster.runtime.list()).filter((s) => s.id.startsWith(`${namespace}.life-`) && s.status === 'running');
  expect(running).toHaveLength(2);
}, 70_000);

test('stopping the cluster leaves no container, process or network namespace of the Service behind', async () => {
  const names = (await replicas()).map((c) => c.metadata.name!);
  const pids = (await replicas()).map((c) => statusOf(c).pid).filter((p): p is number => !!p);
  await cluster.stop();
  const runtime = cluster.runtime;
  cluster = undefined as unknown as TestCluster;
  expect((await runtime.list()).filter((s) => s.id.startsWith(`${namespace}.`))).toEqual([]);
  expect(pids.filter((p) => fs.existsSync(`/proc/${p}`))).toEqual([]);
  expect(resourcesNamed(await listBerthResources(), names.map((n) => containerNetnsName(`${namespace}.${n}`)))).toEqual([]);
}, 60_000);
