/**
 * BerthRuntime's own logic with a recording fake of the native seam and of the cgroup manager: what it does
 * before anything exists, how it undoes a failed create, and how it treats a container left half-created.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BerthRuntime, ContainerNotFoundError, ContainerStateError, NativeError, type NativeRuntime } from '../../../node-agent/runtime';
import type { CgroupManager, CgroupStats } from '../../../node-agent/runtime/cgroups';
import { defaultSpec, OCI_VERSION, SpecError } from '../../../node-agent/runtime/spec';

class RecordingCgroup implements CgroupManager {
  readonly version = 1 as const;
  readonly directories: readonly string[] = [];
  readonly procsFiles: readonly string[] = [];
  constructor(readonly path: string, readonly actions: string[], private readonly inside: number[] = []) {}
  async create(): Promise<void> {
    this.actions.push(`cgroup create ${this.path}`);
  }
  async setResources(): Promise<void> {
    this.actions.push(`cgroup setResources ${this.path}`);
  }
  apply(pid: number): void {
    this.actions.push(`cgroup apply ${pid}`);
  }
  pids(): number[] {
    return this.inside;
  }
  stats(): CgroupStats {
    return { cpuUsageNs: 0, memoryUsage: 0, oomKillCount: 0, pidsCurrent: 0 };
  }
  oomKilled(): boolean {
    return false;
  }
  async freeze(): Promise<void> {}
  async thaw(): Promise<void> {}
  async killAll(signal?: NodeJS.Signals | number): Promise<void> {
    this.actions.push(`cgroup killAll ${signal}`);
  }
  async destroy(): Promise<void> {
    this.actions.push(`cgroup destroy ${this.path}`);
  }
}

function newFixture(spawn: NativeRuntime['spawnShim'] = () => { throw new NativeError('spawn `berth-shim`: No such file or directory', 2); }, cgroupPids: number[] = []) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-unit-rt-'));
  const root = path.join(work, 'state');
  const bundle = path.join(work, 'bundle');
  fs.mkdirSync(path.join(bundle, 'rootfs'), { recursive: true });
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(defaultSpec({ seccomp: false })));
  const actions: string[] = [];
  const native: NativeRuntime = {
    shimPath: '/nonexistent/berth-shim',
    spawnShim: (configPath, stdio) => {
      actions.push(`spawnShim ${path.basename(configPath)} ${stdio.stdin} ${stdio.stdout} ${stdio.stderr}`);
      return spawn(configPath, stdio);
    },
  };
  const rt = new BerthRuntime({ root, native, cgroups: (id, p) => new RecordingCgroup(p ?? `berth/${id}`, actions, cgroupPids), seccompCache: path.join(work, 'seccomp') });
  return { rt, root, bundle, actions, cleanup: () => fs.rmSync(work, { recursive: true, force: true }) };
}

describe('BerthRuntime with a fake native seam', () => {
  it('rejects a bad config.json before creating anything', async () => {
    const f = newFixture();
    try {
      fs.writeFileSync(path.join(f.bundle, 'config.json'), JSON.stringify({ ...defaultSpec(), process: { args: [] } }));
      await expect(f.rt.create('c1', f.bundle)).rejects.toBeInstanceOf(SpecError);
      expect(f.actions).toEqual([]);
      expect(fs.existsSync(f.root)).toBe(false);
    } finally {
      f.cleanup();
    }
  });

  it('undoes everything when the shim cannot be started, naming the container and the cause', async () => {
    const f = newFixture();
    try {
      const err = await f.rt.create('c1', f.bundle).catch((e: Error) => e);
      expect((err as Error).message).toBe('create container c1: spawn `berth-shim`: No such file or directory');
      expect((err as Error).cause).toBeInstanceOf(NativeError);
      expect(f.actions).toEqual(['cgroup create berth/c1', 'cgroup setResources berth/c1', 'spawnShim config.bin -1 -1 -1', 'cgroup destroy berth/c1']);
      expect(fs.readdirSync(f.root)).toEqual([]);
    } finally {
      f.cleanup();
    }
  });

  it('rejects invalid ids and unknown containers', async () => {
    const f = newFixture();
    try {
      await expect(f.rt.create('../escape', f.bundle)).rejects.toThrow(/invalid container id/);
      await expect(f.rt.state('nope')).rejects.toBeInstanceOf(ContainerNotFoundError);
      await expect(f.rt.delete('nope')).rejects.toBeInstanceOf(ContainerNotFoundError);
      expect(await f.rt.list()).toEqual([]);
    } finally {
      f.cleanup();
    }
  });

  it('reports a half-created container as creating and force-deletes it through its cgroup', async () => {
    const f = newFixture(undefined, [424242]); // a process of the half-created container still in its cgroup
    try {
      // What an agent that died between claiming the state dir and writing state.json leaves behind.
      fs.mkdirSync(path.join(f.root, 'c2'), { recursive: true });
      fs.writeFileSync(path.join(f.root, 'c2', 'spec.json'), JSON.stringify({ ...defaultSpec(), linux: { cgroupsPath: '/berth/custom' } }));
      expect(await f.rt.list()).toEqual([{ ociVersion: OCI_VERSION, id: 'c2', status: 'creating', bundle: '' }]);
      await expect(f.rt.delete('c2')).rejects.toBeInstanceOf(ContainerStateError);
      await f.rt.delete('c2', { force: true });
      expect(f.actions).toEqual(['cgroup killAll SIGKILL', 'cgroup destroy /berth/custom']);
      expect(fs.readdirSync(f.root)).toEqual([]);
    } finally {
      f.cleanup();
    }
  });
});
