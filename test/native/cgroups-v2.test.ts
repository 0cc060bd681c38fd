/**
 * cgroup v2 manager. This host is v1-hybrid: its unified hierarchy (/sys/fs/cgroup/unified) has
 * no memory/cpu/pids controllers, so this checks what v2 does without them (membership, cpu.stat,
 * freezing, cgroup.kill, the eBPF device filter, removal) plus the pure mappings; limits are
 * exercised by the v1 suite.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import { CgroupV2Manager, sharesToWeight } from '../../node-agent/runtime/cgroups';
import { uniqueId } from '../helpers/rootfs';

const UNIFIED = '/sys/fs/cgroup/unified';

describe('cgroup v2 manager (unified hierarchy of a hybrid host)', () => {
  let cg: CgroupV2Manager;
  let child: ChildProcess | undefined;

  beforeEach(async () => {
    cg = new CgroupV2Manager(`berth/${uniqueId('cg2')}`, UNIFIED);
    await cg.create();
  });

  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await cg.destroy();
    expect(fs.existsSync(cg.directories[0])).toBe(false);
  });

  it('maps cpu shares onto cpu.weight as runc does', async () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(262144)).toBe(10000);
  });

  it('creates berth/<id>, moves a process in, freezes it, and kills it through cgroup.kill', async () => {
    expect(cg.directories).toEqual([`${UNIFIED}/${cg.path}`]);
    child = spawn('/bin/sh', ['-c', 'read go; while :; do :; done'], { stdio: ['pipe', 'ignore', 'ignore'] });
    cg.apply(child.pid!);
    child.stdin!.write('go\n');
    expect(fs.readFileSync(`/proc/${child.pid}/cgroup`, 'utf8')).toContain(`0::/${cg.path}\n`);
    expect(cg.pids()).toEqual([child.pid]);
    await new Promise((r) => setTimeout(r, 50));
    expect(cg.stats().cpuUsageNs).toBeGreaterThan(0);
    await cg.freeze();
    expect(fs.readFileSync(`${cg.directories[0]}/cgroup.events`, 'utf8')).toMatch(/frozen 1/);
    await cg.thaw();
    const exited = once(child, 'exit');
    await cg.killAll();
    expect((await exited)[1]).toBe('SIGKILL');
    expect(cg.oomKilled()).toBe(false);
  });

  it('refuses limits whose controller is not delegated, naming the file', async () => {
    await expect(cg.setResources({ memory: { limit: 1 << 26 } })).rejects.toThrow(/memory\.max: (ENOENT|EACCES|EPERM)/);
  });

  it('enforces device rules with an eBPF filter: deny all, then the listed nodes and access', async () => {
    await cg.setResources({
      devices: [
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 5, access: 'r' },
      ],
    });
    const script = [
      `echo $$ > ${cg.procsFiles[0]}`,
      'echo x > /dev/null && echo null rw',
      'head -c1 /dev/zero > /dev/null && echo zero r',
      'echo x > /dev/zero 2>/dev/null || echo zero w denied',
      'head -c1 /dev/urandom > /dev/null 2>&1 || echo urandom denied',
    ].join('; ');
    const r = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
    expect(r.stdout).toBe('null rw\nzero r\nzero w denied\nurandom denied\n');
  });
});
