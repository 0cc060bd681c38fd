/**
 * cgroup v1 (legacy and hybrid hierarchies): one directory per controller hierarchy,
 * `/sys/fs/cgroup/<controller>/berth/<id>`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LinuxDeviceCgroup, LinuxMemory, LinuxResources } from '../spec/oci';
import { BaseCgroupManager } from './base';
import { makeDir, readKeyed, readNumber, readValue, waitFor, writeAll, writeValue, type CgroupWrite } from './files';
import { CgroupError, type CgroupStats } from './types';

const V1_CONTROLLERS = new Set([
  'cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'devices', 'freezer', 'blkio', 'net_cls', 'net_prio',
  'hugetlb', 'perf_event', 'rdma', 'misc',
]);
const CPUSET_FILES = ['cpuset.cpus', 'cpuset.mems'];
/** The kernel's "unlimited" for v1 byte counters is PAGE_COUNTER_MAX pages; anything this large means no limit. */
const UNLIMITED = 2 ** 62;

/** The hierarchies found per root: they are mounted at boot, and every container manager needs them. */
const hierarchiesByRoot = new Map<string, ReadonlyMap<string, string>>();

/** Controller name → its hierarchy's mount point, for the v1 hierarchies mounted under `root` (read once per root). */
export function v1Hierarchies(root: string): ReadonlyMap<string, string> {
  let found = hierarchiesByRoot.get(root);
  if (!found) hierarchiesByRoot.set(root, (found = readHierarchies(root)));
  return found;
}

function readHierarchies(root: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
    // cpu → cpu,cpuacct style symlinks point at a directory we also list.
    if (!entry.isDirectory()) continue;
    const controllers = entry.name.split(',').filter((c) => V1_CONTROLLERS.has(c));
    for (const c of controllers) found.set(c, path.join(root, entry.name));
  }
  return found;
}

function deviceRule(d: LinuxDeviceCgroup): string {
  const type = d.type ?? 'a';
  if (type === 'a') return 'a';
  const num = (n: number | null | undefined) => (n === undefined || n === null || n < 0 ? '*' : String(n));
  return `${type} ${num(d.major)}:${num(d.minor)} ${d.access || 'rwm'}`;
}

export class CgroupV1Manager extends BaseCgroupManager {
  readonly version = 1;
  readonly directories: readonly string[];
  private readonly hierarchies: ReadonlyMap<string, string>;

  constructor(cgroupPath: string, root = '/sys/fs/cgroup') {
    super(cgroupPath);
    this.hierarchies = v1Hierarchies(root);
    if (!this.hierarchies.has('memory') || !this.hierarchies.has('pids')) {
      throw new CgroupError(`no cgroup v1 memory and pids hierarchies under ${root}`);
    }
    this.directories = [...new Set(this.hierarchies.values())].map((h) => path.join(h, cgroupPath));
  }

  /** This cgroup's directory in `controller`'s hierarchy, or undefined if that controller is not mounted. */
  private dir(controller: string): string | undefined {
    const h = this.hierarchies.get(controller);
    return h && path.join(h, this.path);
  }

  private file(controller: string, name: string): string {
    const d = this.dir(controller);
    if (!d) throw new CgroupError(`cgroup v1 controller ${controller} is not mounted (needed for ${name})`);
    return path.join(d, name);
  }

  async create(): Promise<void> {
    await Promise.all(this.directories.map(makeDir));
    const cpuset = this.hierarchies.get('cpuset');
    if (cpuset) this.inheritCpuset(cpuset);
  }

  /**
   * A new v1 cpuset starts with empty cpus and mems, and a process cannot join it then: copy them down from the
   * nearest parent that has them, level by level, and set `cgroup.clone_children` on the levels above the leaf,
   * so that the kernel copies them into every later container's cpuset at its mkdir (two writes fewer per start).
   */
  private inheritCpuset(hierarchy: string): void {
    const leaf = path.join(hierarchy, this.path);
    if (CPUSET_FILES.every((name) => readValue(path.join(leaf, name)) !== '')) return;
    let parent = hierarchy;
    for (const part of this.path.split('/')) {
      const dir = path.join(parent, part);
      const empty = CPUSET_FILES.filter((name) => readValue(path.join(dir, name)) === '');
      writeAll(empty.map((name): CgroupWrite => [path.join(dir, name), readValue(path.join(parent, name)) ?? '']));
      if (dir !== leaf) writeValue(path.join(dir, 'cgroup.clone_children'), 1);
      parent = dir;
    }
  }

  async setResources(r: LinuxResources): Promise<void> {
    if (r.unified && Object.keys(r.unified).length > 0) {
      throw new CgroupError('linux.resources.unified: cgroup v2 settings cannot be applied on a cgroup v1 host');
    }
    const cpu: CgroupWrite[] = [];
    const c = r.cpu;
    if (c) {
      if (c.shares !== undefined && c.shares !== 0) cpu.push([this.file('cpu', 'cpu.shares'), c.shares]);
      // The period must be in place before a quota that is checked against it.
      if (c.period !== undefined && c.period !== 0) cpu.push([this.file('cpu', 'cpu.cfs_period_us'), c.period]);
      if (c.quota !== undefined && c.quota !== 0) cpu.push([this.file('cpu', 'cpu.cfs_quota_us'), c.quota]);
      if (c.burst !== undefined) cpu.push([this.file('cpu', 'cpu.cfs_burst_us'), c.burst]);
      if (c.realtimePeriod !== undefined) cpu.push([this.file('cpu', 'cpu.rt_period_us'), c.realtimePeriod]);
      if (c.realtimeRuntime !== undefined) cpu.push([this.file('cpu', 'cpu.rt_runtime_us'), c.realtimeRuntime]);
      if (c.idle !== undefined) cpu.push([this.file('cpu', 'cpu.idle'), c.idle]);
      if (c.cpus) cpu.push([this.file('cpuset', 'cpuset.cpus'), c.cpus]);
      if (c.mems) cpu.push([this.file('cpuset', 'cpuset.mems'), c.mems]);
    }
    const other: CgroupWrite[] = [];
    if (r.pids) other.push([this.file('pids', 'pids.max'), r.pids.limit > 0 ? r.pids.limit : 'max']);
    if (r.blockIO?.weight !== undefined) other.push([this.file('blkio', 'blkio.weight'), r.blockIO.weight]);
    for (const h of r.hugepageLimits ?? []) other.push([this.file('hugetlb', `hugetlb.${h.pageSize}.limit_in_bytes`), h.limit]);
    // Device rules in order: the deny-all comes before the allows.
    const devices = (r.devices ?? []).map((d): CgroupWrite => [this.file('devices', d.allow ? 'devices.allow' : 'devices.deny'), deviceRule(d)]);
    writeAll([...(r.memory ? this.memoryWrites(r.memory) : []), ...cpu, ...devices, ...other]);
  }

  private memoryWrites(m: LinuxMemory): CgroupWrite[] {
    const limitFile = this.file('memory', 'memory.limit_in_bytes');
    const swapFile = this.file('memory', 'memory.memsw.limit_in_bytes');
    if (m.swap !== undefined && m.swap !== 0 && !fs.existsSync(swapFile)) {
      throw new CgroupError('linux.resources.memory.swap: swap accounting is off on this host (no memory.memsw.limit_in_bytes)');
    }
    // The kernel keeps limit <= memsw at every step, so the order depends on growing or shrinking.
    const writes: CgroupWrite[] = [];
    const currentSwap = m.swap !== undefined && m.swap !== 0 ? (readNumber(swapFile) ?? UNLIMITED) : UNLIMITED;
    const swapFirst = m.swap !== undefined && m.swap !== 0 && (m.swap === -1 || m.swap > currentSwap);
    if (swapFirst) writes.push([swapFile, m.swap!]);
    if (m.limit !== undefined && m.limit !== 0) writes.push([limitFile, m.limit]);
    if (!swapFirst && m.swap !== undefined && m.swap !== 0) writes.push([swapFile, m.swap]);
    if (m.reservation !== undefined && m.reservation !== 0) writes.push([this.file('memory', 'memory.soft_limit_in_bytes'), m.reservation]);
    if (m.swappiness !== undefined) writes.push([this.file('memory', 'memory.swappiness'), m.swappiness]);
    if (m.disableOOMKiller) writes.push([this.file('memory', 'memory.oom_control'), 1]);
    return writes;
  }

  stats(): CgroupStats {
    const limit = readNumber(this.file('memory', 'memory.limit_in_bytes'));
    const pidsLimit = readNumber(this.file('pids', 'pids.max'));
    const cpuacct = this.dir('cpuacct');
    return {
      cpuUsageNs: cpuacct ? (readNumber(path.join(cpuacct, 'cpuacct.usage')) ?? 0) : 0,
      memoryUsage: readNumber(this.file('memory', 'memory.usage_in_bytes')) ?? 0,
      memoryMaxUsage: readNumber(this.file('memory', 'memory.max_usage_in_bytes')),
      memoryLimit: limit !== undefined && limit < UNLIMITED ? limit : undefined,
      oomKillCount: this.oomKillCount(),
      pidsCurrent: readNumber(this.file('pids', 'pids.current')) ?? 0,
      pidsLimit,
    };
  }

  private oomKillCount(): number {
    const control = readKeyed(this.file('memory', 'memory.oom_control'));
    // Kernels before 4.13 have no oom_kill counter; under_oom then is the best signal there is.
    return control.get('oom_kill') ?? control.get('under_oom') ?? 0;
  }

  oomKilled(): boolean {
    return this.oomKillCount() > 0;
  }

  protected canFreeze(): boolean {
    return this.hierarchies.has('freezer');
  }

  private async setFreezer(state: 'FROZEN' | 'THAWED'): Promise<void> {
    const file = this.file('freezer', 'freezer.state');
    writeValue(file, state);
    if (!(await waitFor(() => readValue(file) === state, 2000))) {
      throw new CgroupError(`${file} did not reach ${state} (is ${readValue(file)})`);
    }
  }

  freeze(): Promise<void> {
    return this.setFreezer('FROZEN');
  }

  thaw(): Promise<void> {
    return this.setFreezer('THAWED');
  }
}
