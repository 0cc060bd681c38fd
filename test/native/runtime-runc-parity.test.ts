/**
 * The same bundle under runc and under Berth: a probe script prints what a container can observe about itself
 * (capabilities, no_new_privs, seccomp, ids, hostname, mounts, devices, cgroup limits, rlimits), and both runtimes
 * must produce the same report.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BerthRuntime } from '../../node-agent/runtime';
import { defaultSpec } from '../../node-agent/runtime/spec';
import { makeBundle, uniqueId, type Bundle } from '../helpers/rootfs';

const PROBE = [
  "grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status",
  'echo hostname=$(hostname) uid=$(id -u) gid=$(id -g) groups="$(id -G)"',
  "awk '{ split($4, o, \",\"); print \"mount\", $2, $3, o[1] }' /proc/mounts | sort",
  'ls -A /dev | sort | tr "\\n" " "; echo',
  'for f in memory/memory.limit_in_bytes pids/pids.max cpu/cpu.shares cpu/cpu.cfs_quota_us; do echo $f=$(cat /sys/fs/cgroup/$f); done',
  "sed -E 's/[^/]*$/ID/' /proc/self/cgroup | grep -E ':(memory|pids|cpu,cpuacct):'",
  'echo nofile=$(ulimit -n) cwd=$(pwd) env=$GREETING',
  'touch /sys/x 2>&1; cat /proc/keys | wc -c',
].join('; ');

let bundle: Bundle;
let stateRoot: string;

beforeAll(() => {
  bundle = makeBundle();
  stateRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-parity-'));
});

afterAll(() => {
  bundle.cleanup();
  fs.rmSync(stateRoot, { recursive: true, force: true });
});

function writeBundle(id: string): void {
  const spec = defaultSpec({
    rootfs: 'rootfs',
    args: ['sh', '-c', PROBE],
    hostname: 'parity',
    uid: 1000,
    gid: 1000,
    env: ['GREETING=hi'],
    cwd: '/tmp',
    resources: { memory: { limit: 96 << 20 }, pids: { limit: 64 }, cpu: { shares: 256, quota: 20000, period: 100000 } },
  });
  spec.process!.user.additionalGids = [10];
  // Absolute: runc resolves a relative cgroupsPath (or none) inside the caller's own cgroup.
  spec.linux!.cgroupsPath = `/berth/${id}`;
  bundle.write(spec);
}

test('runc and Berth report the same container from inside', async () => {
  const runcId = uniqueId('parity-runc');
  writeBundle(runcId);
  const runcOut = execFileSync('runc', ['--root', path.join(stateRoot, 'runc'), 'run', '-b', bundle.dir, runcId], { encoding: 'utf8', timeout: 30_000 });

  const berthId = uniqueId('parity-berth');
  writeBundle(berthId);
  const out = path.join(bundle.dir, 'berth.out');
  const rt = new BerthRuntime({ root: path.join(stateRoot, 'berth') });
  expect(await rt.run(berthId, bundle.dir, { stdio: { stdout: out, stderr: out } })).toEqual({ exitCode: 0 });
  const berthOut = fs.readFileSync(out, 'utf8');

  expect(berthOut).toContain('CapBnd:\t00000000a80425fb'); // uid 1000: execve clears the other sets, as in Docker
  expect(berthOut).toContain('memory/memory.limit_in_bytes=100663296');
  // Two deliberate differences: Berth makes the /sys/fs/cgroup tmpfs read-only (runc leaves it writable), and
  // binds only the hierarchies the CgroupManager places the container in (not the systemd name=systemd one).
  const runcExpected = runcOut
    .split('\n')
    .filter((l) => !l.startsWith('mount /sys/fs/cgroup/systemd '))
    .map((l) => (l === 'mount /sys/fs/cgroup tmpfs rw' ? 'mount /sys/fs/cgroup tmpfs ro' : l));
  expect(berthOut.split('\n')).toEqual(runcExpected);
});
