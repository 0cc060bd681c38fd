/**
 * cgroup v2 (unified hierarchy): one directory, `/sys/fs/cgroup/berth/<id>`.
 *
 * Device rules: v2 has no devices.allow/deny; the kernel asks an eBPF program of type
 * BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup. setResources compiles the rules into one
 * (device-filter.ts) and attaches it (bpf.ts) with BPF_F_ALLOW_MULTI: a later setResources adds a
 * filter rather than replacing the first, so device access can only narrow after creation.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LinuxMemory, LinuxResources } from '../spec/oci';
import { BaseCgroupManager } from './base';
import { attachDeviceFilter } from './bpf';
import { compileDeviceFilter } from './device-filter';
import { makeDir, readKeyed, readNumber, readValue, waitFor, writeAll, writeValue, type CgroupWrite } from './files';
import { CgroupError, type CgroupStats } from './types';

/** The controllers Berth delegates to its subtree when the root offers them. */
const WANTED = ['cpu', 'cpuset', 'memory', 'pids', 'io', 'hugetlb'];

/** runc's mapping of v1 cpu.shares (2..262144) onto v2 cpu.weight (1..10000). */
export function sharesToWeight(shares: number): number {
  return Math.floor(1 + ((shares - 2) * 9999) / 262142);
}

export class CgroupV2Manager extends BaseCgroupManager {
  readonly version = 2;
  readonly directories: readonly string[];
  private readonly dir: string;

  constructor(
    cgroupPath: string,
    private readonly root = '/sys/fs/cgroup',
  ) {
    super(cgroupPath);
    this.dir = path.join(root, cgroupPath);
    this.directories = [this.dir];
  }

  private file(name: string): string {
    return path.join(this.dir, name);
  }

  async create(): Promise<void> {
    // Controllers must be enabled in every ancestor's subtree_control for the leaf to get their files.
    let parent = this.root;
    const parts = this.path.split('/');
    for (const part of parts) {
      this.delegateControllers(parent);
      parent = path.join(parent, part);
      await makeDir(parent);
    }
  }

  private delegateControllers(dir: string): void {
    const available = new Set((readValue(path.join(dir, 'cgroup.controllers')) ?? '').split(' '));
    const enabled = new Set((readValue(path.join(dir, 'cgroup.subtree_control')) ?? '').split(' '));
    const missing = WANTED.filter((c) => available.has(c) && !enabled.has(c));
    if (missing.length) writeValue(path.join(dir, 'cgroup.subtree_control'), missing.map((c) => `+${c}`).join(' '));
  }

  async setResources(r: LinuxResources): Promise<void> {
    const writes: CgroupWrite[] = r.memory ? this.memoryWrites(r.memory) : [];
    const cpu = r.cpu;
    if (cpu) {
      if (cpu.realtimePeriod !== undefined || cpu.realtimeRuntime !== undefined) {
        throw new CgroupError('linux.resources.cpu.realtime*: not supported on cgroup v2');
      }
      if (cpu.shares !== undefined && cpu.shares !== 0) writes.push([this.file('cpu.weight'), sharesToWeight(cpu.shares)]);
      if ((cpu.quota !== undefined && cpu.quota !== 0) || cpu.period) {
        const quota = cpu.quota !== undefined && cpu.quota > 0 ? cpu.quota : 'max';
        writes.push([this.file('cpu.max'), `${quota} ${cpu.period || 100000}`]);
      }
      if (cpu.burst !== undefined) writes.push([this.file('cpu.max.burst'), cpu.burst]);
      if (cpu.idle !== undefined) writes.push([this.file('cpu.idle'), cpu.idle]);
      if (cpu.cpus) writes.push([this.file('cpuset.cpus'), cpu.cpus]);
      if (cpu.mems) writes.push([this.file('cpuset.mems'), cpu.mems]);
    }
    if (r.pids) writes.push([this.file('pids.max'), r.pids.limit > 0 ? r.pids.limit : 'max']);
    if (r.blockIO?.weight !== undefined) writes.push([this.file('io.weight'), `default ${r.blockIO.weight}`]);
    for (const h of r.hugepageLimits ?? []) writes.push([this.file(`hugetlb.${h.pageSize}.max`), h.limit]);
    for (const [key, value] of Object.entries(r.unified ?? {})) {
      if (key.includes('/') || key.startsWith('.')) throw new CgroupError(`linux.resources.unified: invalid key ${JSON.stringify(key)}`);
      writes.push([this.file(key), value]);
    }
    writeAll(writes);
    if (r.devices?.length) attachDeviceFilter(this.dir, compileDeviceFilter(r.devices));
  }

  private memoryWrites(m: LinuxMemory): CgroupWrite[] {
    if (m.swappiness !== undefined) throw new CgroupError('linux.resources.memory.swappiness: not supported on cgroup v2');
    if (m.disableOOMKiller) throw new CgroupError('linux.resources.memory.disableOOMKiller: not supported on cgroup v2');
    const writes: CgroupWrite[] = [];
    if (m.limit !== undefined && m.limit !== 0) writes.push([this.file('memory.max'), m.limit === -1 ? 'max' : m.limit]);
    // The spec's swap is memory+swap (v1 semantics); v2's memory.swap.max counts swap alone.
    if (m.swap !== undefined && m.swap !== 0) {
      const swapOnly = m.swap === -1 || m.limit === undefined || m.limit === -1 ? 'max' : m.swap - m.limit;
      writes.push([this.file('memory.swap.max'), swapOnly]);
    }
    if (m.reservation !== undefined && m.reservation !== 0) writes.push([this.file('memory.low'), m.reservation === -1 ? 'max' : m.reservation]);
    return writes;
  }

  stats(): CgroupStats {
    const cpu = readKeyed(this.file('cpu.stat'));
    return {
      cpuUsageNs: (cpu.get('usage_usec') ?? 0) * 1000,
      memoryUsage: readNumber(this.file('memory.current')) ?? 0,
      memoryMaxUsage: readNumber(this.file('memory.peak')),
      memoryLimit: readNumber(this.file('memory.max')),
      oomKillCount: this.oomKillCount(),
      pidsCurrent: readNumber(this.file('pids.current')) ?? this.pids().length,
      pidsLimit: readNumber(this.file('pids.max')),
    };
  }

  private oomKillCount(): number {
    return readKeyed(this.file('memory.events')).get('oom_kill') ?? 0;
  }

  oomKilled(): boolean {
    return this.oomKillCount() > 0;
  }

  protected canFreeze(): boolean {
    return true;
  }

  private async setFrozen(frozen: 0 | 1): Promise<void> {
    writeValue(this.file('cgroup.freeze'), frozen);
    const events = this.file('cgroup.events');
    if (!(await waitFor(() => readKeyed(events).get('frozen') === frozen, 2000))) {
      throw new CgroupError(`${this.dir} did not ${frozen ? 'freeze' : 'thaw'} within 2 s`);
    }
  }

  freeze(): Promise<void> {
    return this.setFrozen(1);
  }

  thaw(): Promise<void> {
    return this.setFrozen(0);
  }

  override async killAll(signal: NodeJS.Signals | number = 'SIGKILL'): Promise<void> {
    // cgroup.kill (Linux 5.14) kills every process atomically, forks included.
    const killFile = this.file('cgroup.kill');
    if ((signal === 'SIGKILL' || signal === 9) && fs.existsSync(killFile)) {
      writeValue(killFile, 1);
      return;
    }
    await super.killAll(signal);
  }
}
