/**
 * `npm run bench:e2e`: the whole path a user takes — apply 100 Containers (busybox sleep) and wait until all are
 * Running (total, p50/p99 apply→Running) — next to `podman run -d` ×100 with runc on the same image, and the
 * agent's resident memory with 0, 100 and 1,000 running containers. The last line is one JSON object.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { start } from '../api';
import { ApiClient, Container, KubeObject, loadKubeconfig, RESOURCES } from '../client';
import { startControllers } from '../controllers/main';
import { importBusybox } from '../node-agent/images/busybox';
import { saveImages } from '../node-agent/images/load';
import { ImageStore } from '../node-agent/images/store';
import { BerthRuntime } from '../node-agent/runtime';
import { median, percentile, round, rssBytes } from './stats';

const NS = 'bench';
const PODMAN = ['--runtime', 'runc', '--cgroup-manager', 'cgroupfs'];
const PODMAN_RUN = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096', '--cgroup-parent', '/berth/podman-bench', '--label', 'berth-bench=1'];
const MiB = 2 ** 20;

async function waitFor(cond: () => Promise<boolean> | boolean, what: string, ms = 600_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Creates `names` (8 in flight) and resolves with each one's apply→Running time, seen through a watch. */
async function applyAndWait(client: ApiClient, names: string[]): Promise<{ totalMs: number; latencies: number[] }> {
  const createdAt = new Map<string, number>();
  const runningAt = new Map<string, number>();
  const watch = await client.watch<Container>(RESOURCES.containers, { namespace: NS }, (_t, c) => {
    const name = c.metadata.name!;
    if ((c.status as { phase?: string } | undefined)?.phase === 'Running' && !runningAt.has(name)) runningAt.set(name, Date.now());
  });
  const t0 = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const name = names[next++];
      createdAt.set(name, Date.now());
      await client.create(RESOURCES.containers, { metadata: { name, namespace: NS }, spec: { image: 'busybox', command: ['sleep', '100000'], terminationGracePeriodSeconds: 1 } } as KubeObject);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  await waitFor(() => names.every((n) => runningAt.has(n)), `${names.length} containers Running`);
  watch.stop();
  return { totalMs: Math.max(...names.map((n) => runningAt.get(n)!)) - t0, latencies: names.map((n) => runningAt.get(n)! - createdAt.get(n)!) };
}

async function podmanRun100(home: string): Promise<{ totalMs: number; perContainerMs: number }> {
  const store = new ImageStore({ root: path.join(home, 'podman-image') });
  await importBusybox(store, 'localhost/berth-bench-busybox:latest');
  const archive = path.join(home, 'busybox.tar');
  await saveImages(store, ['localhost/berth-bench-busybox:latest'], archive, 'docker');
  execFileSync('podman', [...PODMAN, 'load', '-q', '-i', archive], { stdio: 'ignore' });
  const t0 = Date.now();
  for (let i = 0; i < 100; i++) execFileSync('podman', [...PODMAN, 'run', '-d', ...PODMAN_RUN, 'localhost/berth-bench-busybox:latest', 'sleep', '100000'], { stdio: 'ignore' });
  const totalMs = Date.now() - t0;
  execFileSync('podman', [...PODMAN, 'rm', '-f', '-t', '0', '--filter', 'label=berth-bench=1'], { stdio: 'ignore' });
  execFileSync('podman', [...PODMAN, 'rmi', '-f', 'localhost/berth-bench-busybox:latest'], { stdio: 'ignore' });
  return { totalMs, perContainerMs: totalMs / 100 };
}

async function main(): Promise<void> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-e2e-'));
  const server = await start({ home, port: 0, address: '127.0.0.1', store: 'sqlite' });
  const client = new ApiClient(loadKubeconfig(server.kubeconfigPath));
  const controllers = await startControllers(client);
  const nodeHome = path.join(home, 'node-home');
  let agent: ChildProcess | undefined;
  try {
    await client.create(RESOURCES.namespaces, { metadata: { name: NS } });
    agent = spawn(process.execPath, [path.join(__dirname, '../cli/main.js'), 'agent', '--kubeconfig', server.kubeconfigPath, '--node-name', 'bench'], {
      env: { ...process.env, BERTH_HOME: nodeHome },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await waitFor(async () => (await client.list(RESOURCES.nodes)).items.length > 0, 'the node');
    await applyAndWait(client, ['warmup']);
    const rss0 = rssBytes(agent.pid!);
    const hundred = await applyAndWait(client, Array.from({ length: 100 }, (_, i) => `c${i}`));
    await new Promise((r) => setTimeout(r, 2000));
    const rss100 = rssBytes(agent.pid!);
    const thousand = await applyAndWait(client, Array.from({ length: 899 }, (_, i) => `c${100 + i}`));
    await new Promise((r) => setTimeout(r, 2000));
    const rss1000 = rssBytes(agent.pid!);
    const all = (await client.list(RESOURCES.containers, { namespace: NS })).items;
    await Promise.all(all.map((c) => client.delete(RESOURCES.containers, c.metadata.name!, { namespace: NS })));
    await waitFor(async () => (await client.list(RESOURCES.containers, { namespace: NS })).items.length === 0, 'every container deleted');
    // The namespace's default Network (and its bridge) goes through the agent too, before the agent stops.
    for (const n of (await client.list(RESOURCES.networks, { namespace: NS })).items) await client.delete(RESOURCES.networks, n.metadata.name!, { namespace: NS });
    await waitFor(async () => (await client.list(RESOURCES.networks, { namespace: NS })).items.length === 0, 'every network deleted');
    const podman = await podmanRun100(home);
    const berth = { totalMs: hundred.totalMs, p50Ms: median(hundred.latencies), p99Ms: percentile(hundred.latencies, 99) };
    console.log(`100 Containers Running: berth ${berth.totalMs} ms (p50 ${berth.p50Ms} ms, p99 ${berth.p99Ms} ms apply→Running) | podman run -d ×100: ${podman.totalMs} ms (${round(podman.perContainerMs)} ms each) | ratio ${round(berth.totalMs / podman.totalMs, 2)}`);
    console.log(`1,000 Containers Running in ${thousand.totalMs + hundred.totalMs} ms; agent RSS: 0 → ${round(rss0 / MiB)} MiB, 100 → ${round(rss100 / MiB)} MiB, 1,000 → ${round(rss1000 / MiB)} MiB`);
    console.log(
      JSON.stringify({
        benchmark: 'e2e',
        berth100TotalMs: berth.totalMs,
        berthApplyToRunningP50Ms: berth.p50Ms,
        berthApplyToRunningP99Ms: berth.p99Ms,
        podman100TotalMs: podman.totalMs,
        ratioToPodman: round(berth.totalMs / podman.totalMs, 3),
        berth1000TotalMs: thousand.totalMs + hundred.totalMs,
        agentRssMiB: { 0: round(rss0 / MiB), 100: round(rss100 / MiB), 1000: round(rss1000 / MiB) },
      }),
    );
  } finally {
    agent?.kill('SIGKILL');
    const runtime = new BerthRuntime({ root: path.join(nodeHome, 'node', 'runtime') });
    for (const s of await runtime.list()) await runtime.delete(s.id, { force: true }).catch(() => undefined);
    const images = new ImageStore({ root: path.join(nodeHome, 'images') });
    for (const id of images.containerImages().keys()) await images.releaseRootfs(id);
    await controllers.stop();
    client.close();
    await server.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
