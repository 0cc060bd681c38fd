/**
 * cgroup v1 manager against the real hierarchies of this (hybrid) host, with plain child processes.
 * Every cgroup lives under /sys/fs/cgroup/<controller>/berth/ and is removed by the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { once } from 'node:events';
import { CgroupError, CgroupV1Manager, createCgroupManager, cgroupVersion, type CgroupManager } from '../../node-agent/runtime/cgroups';
import { uniqueId } from '../helpers/rootfs';

const ROOT = '/sys/fs/cgroup';
const read = (controller: string, cg: CgroupManager, file: string) => fs.readFileSync(`${ROOT}/${controller}/${cg.path}/${file}`, 'utf8').trim();

/** A shell that waits for one line on stdin before running `script`, so it can be moved into the cgroup first. */
function gatedShell(script: string): ChildProcess {
  return spawn('/bin/sh', ['-c', `read go; ${script}`], { stdio: ['pipe', 'ignore', 'pipe'] });
}

const managers: CgroupManager[] = [];
const children: ChildProcess[] = [];

async function newManager(): Promise<CgroupManager> {
  const cg = createCgroupManager(uniqueId('cg'));
  managers.push(cg);
  await cg.create();
  return cg;
}

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const cg of managers.splice(0)) {
    if (cg.pids().length > 0) await cg.killAll();
    await cg.destroy();
    expect(cg.directories.every((d) => !fs.existsSync(d))).toBe(true);
  }
});

describe('cgroup v1 manager', () => {
  it('detects v1 on this hybrid host and nests the bundle path under berth/', async () => {
    expect(cgroupVersion()).toBe(1);
    const cg = createCgroupManager('c1', '/kubepods/pod-a/c1');
    expect(cg).toBeInstanceOf(CgroupV1Manager);
    expect(cg.path).toBe('berth/kubepods/pod-a/c1');
    expect(cg.directories).toContain(`${ROOT}/memory/berth/kubepods/pod-a/c1`);
  });

  it('creates a directory in every hierarchy and copies the parent cpuset so processes can join', async () => {
    const cg = await newManager();
    for (const c of ['memory', 'pids', 'cpu', 'cpuacct', 'cpuset', 'devices', 'freezer']) {
      expect(fs.existsSync(`${ROOT}/${c}/${cg.path}`)).toBe(true);
    }
    expect(read('cpuset', cg, 'cpuset.cpus')).toBe(fs.readFileSync(`${ROOT}/cpuset/cpuset.cpus`, 'utf8').trim());
    expect(read('cpuset', cg, 'cpuset.mems')).not.toBe('');
  });

  it('writes memory, swap, cpu, cpuset, pids and device limits', async () => {
    const cg = await newManager();
    await cg.setResources({
      memory: { limit: 64 << 20, swap: 96 << 20, reservation: 32 << 20 },
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0', mems: '0' },
      pids: { limit: 42 },
      devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }],
    });
    expect(read('memory', cg, 'memory.limit_in_bytes')).toBe(String(64 << 20));
    expect(read('memory', cg, 'memory.memsw.limit_in_bytes')).toBe(String(96 << 20));
    expect(read('memory', cg, 'memory.soft_limit_in_bytes')).toBe(String(32 << 20));
    expect(read('cpu', cg, 'cpu.shares')).toBe('512');
    expect(read('cpu', cg, 'cpu.cfs_quota_us')).toBe('50000');
    expect(read('cpuset', cg, 'cpuset.cpus')).toBe('0');
    expect(read('pids', cg, 'pids.max')).toBe('42');
    expect(read('devices', cg, 'devices.list')).toBe('c 1:3 rwm');
    // Shrinking below the current memsw needs the opposite write order; it must work too.
    await cg.setResources({ memory: { limit: 16 << 20, swap: 16 << 20 } });
    expect(read('memory', cg, 'memory.memsw.limit_in_bytes')).toBe(String(16 << 20));
    expect(cg.stats()).toMatchObject({ memoryLimit: 16 << 20, pidsLimit: 42, pidsCurrent: 0, oomKillCount: 0 });
  });

  it('names the file and value the kernel refused', async () => {
    const cg = await newManager();
    await expect(cg.setResources({ cpu: { cpus: '99' } })).rejects.toThrow(CgroupError);
    await expect(cg.setResources({ cpu: { cpus: '99' } })).rejects.toThrow(/write "99" to .*cpuset\.cpus: (ERANGE|EINVAL)/);
  });

  it('moves a process in, lists it, counts its CPU, freezes, kills and waits for it', async () => {
    const cg = await newManager();
    const child = gatedShell('while :; do :; done');
    children.push(child);
    cg.apply(child.pid!);
    child.stdin!.write('go\n');
    expect(fs.readFileSync(`/proc/${child.pid}/cgroup`, 'utf8')).toContain(`:memory:/${cg.path}\n`);
    expect(cg.pids()).toEqual([child.pid]);
    await new Promise((r) => setTimeout(r, 100));
    expect(cg.stats().cpuUsageNs).toBeGreaterThan(0);
    await cg.freeze();
    expect(read('freezer', cg, 'freezer.state')).toBe('FROZEN');
    await cg.thaw();
    expect(read('freezer', cg, 'freezer.state')).toBe('THAWED');
    const exited = once(child, 'close');
    await cg.killAll('SIGKILL');
    expect((await exited)[1]).toBe('SIGKILL');
  });

  it('throttles a busy process to its CPU quota', async () => {
    const cg = await newManager();
    await cg.setResources({ cpu: { quota: 2000, period: 100000 } });
    const child = gatedShell('while :; do :; done');
    children.push(child);
    cg.apply(child.pid!);
    child.stdin!.write('go\n');
    await new Promise((r) => setTimeout(r, 500));
    // 2 % of one CPU for 0.5 s is 10 ms (small enough to be hit even on a loaded host); an unthrottled loop gets far more.
    expect(cg.stats().cpuUsageNs).toBeLessThan(60_000_000);
    expect(read('cpu', cg, 'cpu.stat')).toMatch(/nr_throttled [1-9]/);
  });

  it('refuses to destroy a cgroup that still has processes, naming them', async () => {
    const cg = await newManager();
    const child = gatedShell('sleep 30');
    children.push(child);
    cg.apply(child.pid!);
    await expect(cg.destroy({ timeoutMs: 50 })).rejects.toThrow(new RegExp(`still has 1 process\\(es\\) \\(pids ${child.pid}\\)`));
    expect(fs.existsSync(cg.directories[0])).toBe(true);
  });

  it('reports an OOM kill when a process allocates past the memory limit', async () => {
    const cg = await newManager();
    await cg.setResources({ memory: { limit: 16 << 20, swap: 16 << 20 } });
    const child = gatedShell('exec dd if=/dev/zero of=/dev/null bs=64M count=2');
    children.push(child);
    cg.apply(child.pid!);
    const exited = once(child, 'close');
    child.stdin!.write('go\n');
    const [, signal] = await exited;
    expect(signal).toBe('SIGKILL');
    expect(cg.oomKilled()).toBe(true);
    expect(cg.stats().oomKillCount).toBeGreaterThanOrEqual(1);
  });

  it('stops a fork bomb at the pids limit', async () => {
    const cg = await newManager();
    await cg.setResources({ pids: { limit: 5 } });
    const child = gatedShell('for i in 1 2 3 4 5 6 7 8 9 10; do sleep 30 & done; wait');
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    cg.apply(child.pid!);
    const exited = once(child, 'close'); // 'close': its pipes are closed too (the descriptor count below)
    child.stdin!.write('go\n');
    // dash gives up at the first failed fork and exits: at most 5 tasks ever existed, the rest were refused.
    expect((await exited)[0]).not.toBe(0);
    expect(cg.stats().pidsCurrent).toBe(4);
    expect(read('pids', cg, 'pids.events')).toMatch(/max [1-9]/);
    expect(stderr).toMatch(/fork/i);
  });

  it('leaves no directory and no open descriptor after 1,000 create/limit/destroy cycles', async () => {
    const fdsBefore = fs.readdirSync('/proc/self/fd').length;
    const prefix = uniqueId('cycle');
    for (let i = 0; i < 1000; i++) {
      const cg = createCgroupManager(`${prefix}-${i}`);
      await cg.create();
      await cg.setResources({ memory: { limit: 64 << 20 }, pids: { limit: 10 }, cpu: { shares: 512 } });
      await cg.destroy();
    }
    expect(fs.readdirSync('/proc/self/fd').length).toBe(fdsBefore);
    for (const c of ['memory', 'pids', 'cpu', 'cpuset', 'devices', 'freezer']) {
      expect(fs.readdirSync(`${ROOT}/${c}/berth`).filter((d) => d.startsWith(prefix))).toEqual([]);
    }
  });
});
