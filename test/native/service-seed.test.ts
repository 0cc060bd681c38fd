/**
 * The seed's example as written: manifests/examples/service-seed.yaml applied with kubectl to a real one-node
 * cluster (12 busybox httpd replicas of v1), then its v2 form (VERSION: v2) applied the same way. The rolling update
 * goes two at a time with a delay between batches; mid-way the status shows old and new replicas side by side and
 * the published port answers from both; it ends with 12 ready replicas of v2. The only change made to the file is
 * its publishedPort, moved to a free port so parallel tests cannot collide.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Container, RESOURCES, Service } from '../../client';
import { testTag } from '../../node-agent/network/testing';
import { startCluster, TestCluster } from '../helpers/cluster';
import { request } from '../helpers/load';
import { freePort } from '../helpers/ports';
import { until } from '../helpers/until';

const run = promisify(execFile);
const SEED = path.resolve(__dirname, '../../manifests/examples/service-seed.yaml');
const namespace = `seed-${testTag()}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-service-seed-'));
let cluster: TestCluster;
let port: number;

const kubectl = async (...args: string[]): Promise<string> => {
  const { stdout } = await run('/usr/bin/kubectl', ['--kubeconfig', cluster.api.kubeconfigPath, '-n', namespace, ...args], { timeout: 60_000 });
  return stdout;
};

/** The seed file with VERSION set to `version` (and the free published port), written where kubectl can read it. */
function seedAt(version: string): string {
  const text = fs.readFileSync(SEED, 'utf8');
  expect(text).toMatch(/- name: VERSION\n\s+value: v1\n/);
  expect(text).toMatch(/publishedPort: 18080\n/);
  const file = path.join(tmp, `seed-${version}.yaml`);
  fs.writeFileSync(file, text.replace(/(- name: VERSION\n\s+value: )v1\n/, `$1${version}\n`).replace(/publishedPort: 18080\n/, `publishedPort: ${port}\n`));
  return file;
}

type SeedStatus = { replicas?: number; readyReplicas?: number; updatedReplicas?: number; currentRevision?: string; updateRevision?: string; weights?: Record<string, number>; rollout?: { phase?: string; message?: string } };
const statusOf = async () => (await cluster.api.client.get<Service>(RESOURCES.services, 'web-seed', namespace)).status as SeedStatus;
const containers = async () => (await cluster.api.client.list<Container>(RESOURCES.containers, { namespace, labelSelector: 'app=web-seed' })).items;

beforeAll(async () => {
  cluster = await startCluster();
  port = await freePort();
  await cluster.api.client.create(RESOURCES.namespaces, { metadata: { name: namespace } });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
  expect((await cluster.runtime.list()).filter((s) => s.id.startsWith(`${namespace}.`))).toEqual([]);
  expect(await request(port)).toBe('error');
}, 60_000);

test('12 replicas of v1 roll to v2 two at a time with a delay, old and new side by side mid-way', async () => {
  expect(await kubectl('apply', '-f', seedAt('v1'))).toMatch(/service.berth.dev\/web-seed created/);
  await until(async () => {
    const st = await statusOf();
    return st?.rollout?.phase === 'Healthy' && st.readyReplicas === 12;
  }, 60_000, '12 ready replicas of v1');
  expect(await request(port)).toBe('200 web-seed v1');
  const v1 = (await statusOf()).currentRevision!;

  const responses: string[] = [];
  const samples: Array<SeedStatus & { live: number }> = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      responses.push(await request(port));
      const live = (await containers()).filter((c) => !c.metadata.deletionTimestamp).length;
      samples.push({ ...(await statusOf()), live });
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  // Every write of the Service during the rollout: the controller writes status on change only, not in a loop.
  let writes = 0;
  const watch = await cluster.api.client.watch(RESOURCES.services, { namespace, name: 'web-seed', resourceVersion: (await cluster.api.client.get(RESOURCES.services, 'web-seed', namespace)).metadata.resourceVersion }, (type) => {
    if (type === 'MODIFIED') writes++;
  });
  const started = Date.now();
  expect(await kubectl('apply', '-f', seedAt('v2'))).toMatch(/service.berth.dev\/web-seed configured/);

  const midway = await until(async () => {
    const st = samples[samples.length - 1];
    return st && st.updateRevision !== v1 && (st.updatedReplicas ?? 0) > 0 && (st.updatedReplicas ?? 0) < 12 && Object.keys(st.weights ?? {}).length === 2 ? st : undefined;
  }, 30_000, 'old and new side by side');
  // What a user sees mid-way with kubectl: both revisions in the status, the rollout saying how far it is.
  const wide = await kubectl('get', 'service', 'web-seed', '-o', 'wide');
  expect(wide.split('\n')[0]).toMatch(/UPDATED\s+AVAILABLE\s+ROLLOUT/);
  expect(midway.rollout?.message).toMatch(/^\d+ of 12 updated containers ready, \d+ old still running/);
  expect(midway.weights?.[v1]).toBeGreaterThan(0);
  expect(midway.weights?.[midway.updateRevision!]).toBeGreaterThan(0);

  const done = await until(async () => {
    const st = await statusOf();
    const all = await containers();
    return st.rollout?.phase === 'Healthy' && st.currentRevision !== v1 && st.readyReplicas === 12 && all.length === 12 && all.every((c) => c.metadata.labels?.['berth.dev/revision'] === st.currentRevision && (c.status as { ready?: boolean }).ready) ? st : undefined;
  }, 60_000, '12 ready replicas of v2').catch(async (err) => {
    throw new Error(`${(err as Error).message}: ${JSON.stringify(await statusOf())}`);
  });
  const seconds = (Date.now() - started) / 1000;
  sampling = false;
  await sampler;
  watch.stop();
  // 12 new replicas each created, ready and replacing an old one, a few writes apiece — not one per reconcile.
  expect(writes).toBeLessThan(150);
  expect(done.updatedReplicas).toBe(12);
  expect(await request(port)).toBe('200 web-seed v2');
  // Parallelism 2 with maxUnavailable 0: never more than 14 containers, and 6 batches 3 s apart take at least 15 s.
  expect(Math.max(...samples.map((s) => s.live))).toBeLessThanOrEqual(14);
  expect(seconds).toBeGreaterThanOrEqual(15);
  expect(responses).toContain('200 web-seed v1');
  expect(responses).toContain('200 web-seed v2');
  expect(responses.filter((r) => r !== '200 web-seed v1' && r !== '200 web-seed v2')).toEqual([]);
  console.log(`seed rollout 12 × v1 → v2: ${seconds.toFixed(1)} s, ${writes} writes of the Service, ${responses.length} requests, 0 failed (load average ${os.loadavg()[0].toFixed(1)})`);
}, 90_000);
