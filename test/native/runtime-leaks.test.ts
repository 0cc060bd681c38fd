/**
 * 1,000 create/delete cycles leave nothing behind: no mount, cgroup, process, zombie or open fd in this process
 * (which plays the agent). Eight cycles run at a time, as an agent starting many containers would.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BerthRuntime } from '../../node-agent/runtime';
import { defaultSpec } from '../../node-agent/runtime/spec';
import { makeBundle, uniqueId, type Bundle } from '../helpers/rootfs';

const CYCLES = 1000;
const PARALLEL = 8;

let root: string;
let bundle: Bundle;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-rt-leaks-'));
  bundle = makeBundle();
  bundle.write(defaultSpec({ rootfs: 'rootfs', args: ['true'] }));
});

afterAll(() => {
  bundle.cleanup();
  fs.rmSync(root, { recursive: true, force: true });
});

function readStat(pid: string): { ppid: number; state: string } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: f[0], ppid: Number(f[1]) };
  } catch {
    return undefined;
  }
}

interface Census {
  mounts: number;
  fds: number;
  children: number;
  zombies: number;
  shims: number;
  cgroups: string[];
}

/**
 * What this process holds and what its containers could have left on the host. A shim writes the exit status
 * as its last act, so one may still be exiting right after a delete: give them up to a second to go.
 */
async function settledCensus(prefix: string): Promise<Census> {
  for (let i = 0; i < 100; i++) {
    const c = census(prefix);
    if (c.shims === 0) return c;
    await new Promise((r) => setTimeout(r, 10));
  }
  return census(prefix);
}

function census(prefix: string): Census {
  const pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  const mine = pids.map(readStat).filter((s) => s?.ppid === process.pid);
  const shims = pids.filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(root); // the shim's config path is under root
    } catch {
      return false;
    }
  });
  const cgroups = fs
    .readdirSync('/sys/fs/cgroup')
    .flatMap((c) => {
      try {
        return fs.readdirSync(`/sys/fs/cgroup/${c}/berth`).map((d) => `${c}/${d}`);
      } catch {
        return [];
      }
    })
    .filter((d) => d.split('/')[1].startsWith(prefix));
  return {
    // Only ours: other tests on this machine mount and unmount meanwhile.
    mounts: fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(bundle.dir) || l.includes(root)).length,
    fds: fs.readdirSync('/proc/self/fd').length,
    children: mine.length,
    zombies: mine.filter((s) => s?.state === 'Z').length,
    shims: shims.length,
    cgroups,
  };
}

test(`${CYCLES} create/delete cycles leave no mount, cgroup, process, zombie or fd`, async () => {
  const rt = new BerthRuntime({ root });
  const prefix = uniqueId('leak');
  // Warm up (loads the native library, compiles seccomp) so that one-time state is not counted as a leak.
  await rt.run(`${prefix}-warm`, bundle.dir);
  const before = await settledCensus(prefix);

  let next = 0;
  const worker = async () => {
    while (next < CYCLES) {
      const i = next++;
      const id = `${prefix}-${i}`;
      await rt.create(id, bundle.dir);
      if (i % 10 === 0) {
        await rt.start(id); // some run to completion, the others are killed while waiting for start
        await rt.wait(id);
      }
      await rt.delete(id, { force: true });
    }
  };
  const t0 = Date.now();
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  const elapsed = Date.now() - t0;

  const after = await settledCensus(prefix);
  // A leak only adds: children and fds of this worker may drop when an earlier test file's helper process ends meanwhile.
  expect({ ...after, children: 0, fds: 0 }).toEqual({ ...before, children: 0, fds: 0, cgroups: [] });
  expect(after.children).toBeLessThanOrEqual(before.children);
  expect(after.fds).toBeLessThanOrEqual(before.fds);
  expect(before.cgroups).toEqual([]);
  expect(before.shims).toBe(0);
  expect(fs.readdirSync(root)).toEqual([]);
  console.log(`${CYCLES} cycles in ${elapsed} ms (${(elapsed / CYCLES).toFixed(1)} ms each, ${PARALLEL} at a time)`);
}, 120_000);
