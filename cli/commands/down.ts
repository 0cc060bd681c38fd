/**
 * `berth down [--purge]`: stops what `berth up` started (found through `$BERTH_HOME/berth.pid`). Containers keep
 * running, as with live-restore; `--purge` first deletes every Container and Network through the API (the agent
 * removes their cgroups, mounts, namespaces and bridges), then removes whatever is left on the host and all state.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { ApiClient, loadKubeconfig, RESOURCES } from '../../client';
import { ImageStore } from '../../node-agent/images/store';
import { deleteContainerNetns } from '../../node-agent/network';
import { BerthRuntime } from '../../node-agent/runtime';
import { CGROUP_ROOT, removeEmptyBerthParents } from '../../node-agent/runtime/cgroups';
import { SecretVolumes } from '../../node-agent/secrets';
import { berthHome } from './node';

export const PID_FILE = 'berth.pid';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The pid of a running `berth up` of this home, if any (a stale file from a crash is ignored). */
export function runningPid(home: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(home, PID_FILE), 'utf8'));
    return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Claims the home for this process; refuses when another `berth up` of it still runs. */
export function claimHome(home: string): void {
  const other = runningPid(home);
  if (other && other !== process.pid) throw new Error(`berth is already running on ${home} (pid ${other}); stop it with berth down`);
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(home, PID_FILE), String(process.pid));
}

export function releaseHome(home: string): void {
  if (runningPid(home) === process.pid) fs.rmSync(path.join(home, PID_FILE), { force: true });
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/**
 * Deletes every Container, then every Network, through the API and waits until the agent has released them all
 * (each sits behind the agent's finalizer until its cgroup, mounts, namespace and bridge are gone).
 */
async function deleteAllThroughApi(home: string, ms: number): Promise<void> {
  const client = new ApiClient(loadKubeconfig(path.join(home, 'admin.kubeconfig')));
  const end = Date.now() + ms;
  try {
    for (const ref of [RESOURCES.containers, RESOURCES.networks]) {
      const all = await client.list(ref, { namespace: '' });
      await Promise.all(all.items.map((o) => client.delete(ref, o.metadata.name!, { namespace: o.metadata.namespace }).catch(() => undefined)));
      while ((await client.list(ref, { namespace: '' })).items.length > 0) {
        if (Date.now() > end) throw new Error(`${ref.plural} are still being removed; run berth down --purge again`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    client.close();
  }
}

/**
 * Whatever the API path could not remove (the server was down): runtime containers and their network namespaces,
 * rootfs mounts, secret tmpfs. Bridges of Networks are left to a running agent (only the API knows which are ours).
 */
async function removeLeftovers(home: string): Promise<void> {
  const runtime = new BerthRuntime({ root: path.join(home, 'node', 'runtime') });
  for (const s of await runtime.list()) {
    await runtime.delete(s.id, { force: true });
    await deleteContainerNetns(s.id).catch(() => undefined);
  }
  const images = new ImageStore({ root: path.join(home, 'images') });
  for (const id of images.containerImages().keys()) await images.releaseRootfs(id);
  const secrets = new SecretVolumes(path.join(home, 'node', 'secrets'), { get: async () => undefined });
  for (const id of secrets.held()) await secrets.release(id);
  // Parents that another $BERTH_HOME's containers still use stay.
  removeEmptyBerthParents(CGROUP_ROOT);
}

export const registerDownCommand = (program: Command): void => {
  program
    .command('down')
    .description('stop what berth up started (containers keep running); --purge also removes every container and all state')
    .option('--purge', 'delete every container and everything under $BERTH_HOME')
    .option('--timeout <seconds>', 'how long to wait for containers and processes to stop', '60')
    .action(async (opts: { purge?: boolean; timeout: string }) => {
      const home = berthHome();
      const ms = Number(opts.timeout) * 1000;
      const pid = runningPid(home);
      if (opts.purge && pid) await deleteAllThroughApi(home, ms);
      if (pid) {
        process.kill(pid, 'SIGTERM');
        if (!(await waitGone(pid, ms))) throw new Error(`berth (pid ${pid}) did not stop within ${opts.timeout}s`);
        console.log(`berth: stopped (pid ${pid})`);
      } else {
        console.log(`berth: not running on ${home}`);
      }
      if (opts.purge) {
        await removeLeftovers(home);
        fs.rmSync(home, { recursive: true, force: true });
        console.log(`berth: purged ${home}`);
      }
    });
};
