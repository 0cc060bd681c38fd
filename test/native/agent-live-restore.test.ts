import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Container, KubeObject, RESOURCES } from '../../client';
import { startControllers, type RunningControllers } from '../../controllers/main';
import { ImageStore } from '../../node-agent/images/store';
import { bridgeName, containerNetnsName, listBerthResources, resourcesNamed } from '../../node-agent/network';
import { pickFreeSubnets, releaseSubnets } from '../../node-agent/network/testing';
import { BerthRuntime } from '../../node-agent/runtime';
import { shimsIn } from '../../node-agent/runtime/berth/proc';
import { startApiServer, TestApiServer } from '../helpers/apiserver';
import { makeBundle, uniqueId } from '../helpers/rootfs';
import { until } from '../helpers/until';

const CLI = path.resolve(__dirname, '../../dist/cli/main.js');


describe('live-restore: the agent is a separate process that can be killed -9 at any time', () => {
  let api: TestApiServer;
  let controllers: RunningControllers;
  let home: string;
  let agent: ChildProcess | undefined;
  let subnets: string[] = [];
  let bridge = '';
  const nodeName = `berth-lr-${process.pid}`;
  // Runtime ids, cgroups and netns are named after namespace.name host-wide: names of this run only.
  const tag = crypto.randomBytes(3).toString('hex');
  const steady = `steady-${tag}`;

  const startAgent = () => {
    agent = spawn(process.execPath, [CLI, 'agent', '--kubeconfig', api.kubeconfigPath, '--node-name', nodeName], {
      env: { ...process.env, BERTH_HOME: home },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  };
  const killAgent = async () => {
    const a = agent!;
    a.kill('SIGKILL');
    if (a.exitCode === null && a.signalCode === null) await new Promise((r) => a.once('exit', r));
  };

  beforeAll(async () => {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
    api = await startApiServer();
    home = path.join(api.home, 'node-home');
    controllers = await startControllers(api.client);
    // The default Network on a subnet reserved for this test: one picked from the pool could collide with another
    // test's bridge on this shared host.
    subnets = await pickFreeSubnets(1);
    const net = await api.client.create(RESOURCES.networks, { metadata: { name: 'default', namespace: 'default' }, spec: { driver: 'bridge', subnet: subnets[0] } } as KubeObject);
    bridge = bridgeName(net.metadata.uid!);
    startAgent();
  });

  afterAll(async () => {
    // A live agent removes what it made (containers, then networks, each behind its finalizer); then stop it.
    if (!agent || agent.exitCode !== null) startAgent();
    try {
      for (const ref of [RESOURCES.containers, RESOURCES.networks]) {
        const items = (await api.client.list(ref, { namespace: 'default' })).items;
        await Promise.all(items.map((o) => api.client.delete(ref, o.metadata.name!, { namespace: 'default' }).catch(() => undefined)));
        await until(async () => (await api.client.list(ref, { namespace: 'default' })).items.length === 0, 40_000, `every ${ref.plural} removed`).catch(() => undefined);
      }
      // The agent removes the bridge just after it releases the Network: killing it sooner would leave the bridge.
      await until(async () => resourcesNamed(await listBerthResources(), [bridge]).length === 0, 20_000, `bridge ${bridge} removed`);
    } finally {
      // Never left running: an agent outliving its test would go on removing containers by their host-wide names.
      await killAgent();
    }
    await controllers.stop();
    const runtime = new BerthRuntime({ root: path.join(home, 'node', 'runtime') });
    for (const s of await runtime.list()) await runtime.delete(s.id, { force: true }).catch(() => undefined);
    const images = new ImageStore({ root: path.join(home, 'images') });
    for (const id of images.containerImages().keys()) await images.releaseRootfs(id);
    await api.stop();
    releaseSubnets(subnets);
  });

  /** The Warning (or all) events of the Containers named, for a failure message that says what happened to them. */
  const warnings = async (names: readonly string[], type: 'Warning' | 'all' = 'Warning') =>
    (await api.client.list(RESOURCES.events, { namespace: 'default' })).items
      .map((e) => e as KubeObject & { involvedObject?: { name?: string }; type?: string; reason?: string; message?: string; count?: number })
      .filter((e) => (type === 'all' || e.type === type) && names.includes(e.involvedObject?.name ?? ''))
      .map((e) => `${e.involvedObject?.name} ${e.reason} x${e.count ?? 1}: ${e.message}`);
  const containers = async () => (await api.client.list<Container>(RESOURCES.containers, { namespace: 'default' })).items;
  const runtimeIds = async () => (await new BerthRuntime({ root: path.join(home, 'node', 'runtime') }).list()).map((s) => s.id).sort();
  const create = (name: string) =>
    api.client.create(RESOURCES.containers, { metadata: { name, namespace: 'default' }, spec: { image: 'busybox', command: ['sleep', '3600'], terminationGracePeriodSeconds: 1 } } as KubeObject);

  it('keeps containers running and re-adopts them (same pid, same restart count) after kill -9', async () => {
    await create(steady);
    const before = await until(async () => {
      const c = (await containers()).find((x) => x.metadata.name === steady);
      const st = c?.status as { phase?: string; pid?: number } | undefined;
      return st?.phase === 'Running' ? st : undefined;
    }, 60_000);
    await killAgent();
    expect(fs.existsSync(`/proc/${before.pid}`)).toBe(true);
    startAgent();
    await new Promise((r) => setTimeout(r, 2000));
    const after = (await api.client.get<Container>(RESOURCES.containers, steady, 'default')).status as { phase?: string; pid?: number; restartCount?: number };
    expect(after).toMatchObject({ phase: 'Running', pid: before.pid, restartCount: 0 });
  });

  it('keeps a deleted Container, saying which cleanup step fails and why, until the node is clean', async () => {
    const name = `pinned-${tag}`;
    await create(name);
    await until(async () => (await containers()).find((c) => c.metadata.name === name && (c.status as { phase?: string } | undefined)?.phase === 'Running'), 60_000);
    // An immutable file in the container's bundle directory: removing the bundle fails with EPERM until it is unpinned.
    const pinned = path.join(home, 'node', 'bundles', `default.${name}`, 'pinned');
    fs.writeFileSync(pinned, '');
    execFileSync('chattr', ['+i', pinned]);
    try {
      await api.client.delete(RESOURCES.containers, name, { namespace: 'default' });
      const stuck = await until(async () => {
        const c = await api.client.get<Container>(RESOURCES.containers, name, 'default');
        return (c.status as { reason?: string } | undefined)?.reason === 'CleanupFailed' ? c : undefined;
      }, 30_000);
      expect(stuck.metadata.finalizers).toContain('berth.dev/agent');
      expect(stuck.status).toMatchObject({ phase: 'Terminating', message: expect.stringMatching(/^removing the container's bundle failed: .*\(attempt \d+, next in [\d.]+ s\)$/) });
      expect((await warnings([name])).some((w) => /^\S+ CleanupFailed x\d+: removing the container's bundle failed/.test(w))).toBe(true);
    } finally {
      execFileSync('chattr', ['-i', pinned]);
    }
    await until(async () => !(await containers()).some((c) => c.metadata.name === name), 30_000, `${name} removed once unpinned`);
  });

  it('removes a container whose creator was killed -9 mid-create from what is on the host, so its id can be reused at once', async () => {
    const root = path.join(home, 'creator-killed');
    const runtime = new BerthRuntime({ root });
    const bundle = makeBundle({ args: ['sleep', '60'] });
    try {
      for (let i = 0; i < 3; i++) {
        const id = uniqueId('lr');
        const dir = path.join(root, id);
        const creator = spawn(process.execPath, [CLI, 'runtime', '--root', root, 'create', '--bundle', bundle.dir, id], { stdio: 'ignore' });
        // Killed once its shim may exist (config.bin is written just before the shim starts), at a varying point;
        // polled tightly, as the rest of a create takes only milliseconds.
        const deadline = Date.now() + 20_000;
        while (!fs.existsSync(path.join(dir, 'config.bin')) && creator.exitCode === null && Date.now() < deadline) await new Promise((r) => setImmediate(r));
        await new Promise((r) => setTimeout(r, i * 5));
        creator.kill('SIGKILL');
        if (creator.exitCode === null && creator.signalCode === null) await new Promise((r) => creator.once('exit', r));
        await runtime.delete(id, { force: true }).catch((err: Error) => {
          if (fs.existsSync(dir)) throw err;
        });
        // A shim not yet exec'd when its creator died is invisible to delete; it finds its directory gone and exits.
        await until(async () => shimsIn(dir).length === 0, 5000, `no shim of ${dir} left`);
        expect(fs.existsSync(`/sys/fs/cgroup/pids/berth/${id}`)).toBe(false);
        // A shim left alive would write its fifo or exit into the new directory and fail or stop this one.
        await runtime.create(id, bundle.dir, { init: true });
        await runtime.start(id);
        await new Promise((r) => setTimeout(r, 300));
        expect((await runtime.state(id)).status).toBe('running');
        await runtime.delete(id, { force: true });
        expect(shimsIn(dir)).toEqual([]);
      }
    } finally {
      for (const s of await runtime.list()) await runtime.delete(s.id, { force: true }).catch(() => undefined);
      bundle.cleanup();
    }
  });

  it('ends in exactly the desired state, without duplicates or leaks, after 10 kills during 200 creates and deletes', async () => {
    const wanted = new Set<string>([steady]);
    let n = 0;
    for (let round = 0; round < 10; round++) {
      const ops: Array<Promise<unknown>> = [];
      for (let i = 0; i < 10; i++) {
        const name = `churn-${tag}-${n++}`;
        wanted.add(name);
        ops.push(create(name));
      }
      // Delete half of what exists so far, while creates are in flight.
      for (const name of [...wanted].filter((x) => x !== steady).slice(0, 5)) {
        wanted.delete(name);
        ops.push(api.client.delete(RESOURCES.containers, name, { namespace: 'default' }).catch(() => undefined));
      }
      await Promise.all(ops);
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 500));
      await killAgent();
      startAgent();
    }
    const desired = [...wanted].map((name) => `default.${name}`).sort();
    let seen = '';
    await until(async () => {
      const objs = await containers();
      const names = objs.map((c) => c.metadata.name!).sort();
      const notRunning = objs.filter((c) => (c.status as { phase?: string } | undefined)?.phase !== 'Running').map((c) => `${c.metadata.name}:${JSON.stringify(c.status)}:${c.metadata.deletionTimestamp ?? ''}`);
      const ids = await runtimeIds();
      seen = JSON.stringify({ extraObjects: names.filter((x) => !wanted.has(x)), missingObjects: [...wanted].filter((x) => !names.includes(x)), notRunning, extraRuntime: ids.filter((x) => !desired.includes(x)), missingRuntime: desired.filter((x) => !ids.includes(x)) });
      return JSON.stringify(names) === JSON.stringify([...wanted].sort()) && notRunning.length === 0 && JSON.stringify(ids) === JSON.stringify(desired);
    }, 90_000).catch(async (err: Error) => {
      const stuck = (await containers()).filter((c) => (c.status as { phase?: string } | undefined)?.phase !== 'Running').map((c) => c.metadata.name!);
      throw new Error(`${err.message}: ${seen}; warnings: ${JSON.stringify(await warnings(stuck))}`);
    });
    // No duplicate and no restart: each Container reports the one process that runs for it, in its first run.
    const runtime = new BerthRuntime({ root: path.join(home, 'node', 'runtime') });
    const runs = await Promise.all(
      (await containers()).map(async (c) => {
        const st = c.status as { pid?: number; restartCount?: number };
        const pid = (await runtime.state(`default.${c.metadata.name}`)).pid;
        return { name: c.metadata.name!, ok: st.pid === pid && st.restartCount === 0, status: c.status };
      }),
    );
    const bad = runs.filter((r) => !r.ok);
    expect({ bad, events: bad.length > 0 ? await warnings(bad.map((r) => r.name), 'all') : [] }).toEqual({ bad: [], events: [] });
    // Nothing of the deleted ones is left on the node.
    const mounts = fs.readFileSync('/proc/mounts', 'utf8');
    for (const c of (await runtimeIds()).map((id) => id)) expect(desired).toContain(c);
    const berthMounts = mounts.split('\n').filter((l) => l.includes(home));
    expect(berthMounts.length).toBe(desired.length);
    const cgroups = fs.readdirSync('/sys/fs/cgroup/pids/berth').filter((d) => d.startsWith(`default.churn-${tag}-`) || d === `default.${steady}`);
    expect(cgroups.sort()).toEqual(desired);
    // No network namespace and no shim process (found on the host, not from the state dirs) of a deleted one.
    const deleted = Array.from({ length: n }, (_, i) => `default.churn-${tag}-${i}`).filter((id) => !desired.includes(id));
    const netns = fs.existsSync('/run/netns') ? fs.readdirSync('/run/netns') : [];
    expect(deleted.filter((id) => netns.includes(containerNetnsName(id)))).toEqual([]);
    expect(deleted.flatMap((id) => shimsIn(path.join(home, 'node', 'runtime', id)))).toEqual([]);
  }, 240_000);
});
