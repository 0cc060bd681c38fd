/**
 * Berth's runtime lifecycle with real containers: create/start/state/kill/delete/list, exec, the minimal init,
 * joining namespaces by path, bad configs, and containers outliving the process that created them.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BerthRuntime, ContainerNotFoundError, ContainerStateError } from '../../node-agent/runtime';
import { defaultSpec, SpecError, type RuntimeSpec } from '../../node-agent/runtime/spec';
import { makeBundle, uniqueId, type Bundle } from '../helpers/rootfs';

let root: string;
let rt: BerthRuntime;
let bundle: Bundle;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-rt-state-'));
  rt = new BerthRuntime({ root });
  bundle = makeBundle();
});

afterAll(async () => {
  for (const s of await rt.list()) await rt.delete(s.id, { force: true });
  bundle.cleanup();
  fs.rmSync(root, { recursive: true, force: true });
});

function writeSpec(args: string[], edit?: (spec: RuntimeSpec) => void): void {
  const spec = defaultSpec({ rootfs: 'rootfs', args });
  edit?.(spec);
  bundle.write(spec);
}

const cgroupExists = (id: string): boolean => fs.existsSync(`/sys/fs/cgroup/memory/berth/${id}`);

test('create → created, start → running, kill → stopped, delete removes state and cgroup', async () => {
  writeSpec(['sleep', '1000']);
  const id = uniqueId('life');
  const pidFile = path.join(bundle.dir, `${id}.pid`);
  const created = await rt.create(id, bundle.dir, { pidFile });
  expect(created).toMatchObject({ ociVersion: expect.any(String), id, status: 'created', bundle: bundle.dir });
  expect(Number(fs.readFileSync(pidFile, 'utf8'))).toBe(created.pid);
  expect(cgroupExists(id)).toBe(true);
  await expect(rt.create(id, bundle.dir)).rejects.toThrow(/already exists/);
  await expect(rt.delete(id)).rejects.toBeInstanceOf(ContainerStateError);

  await rt.start(id);
  expect((await rt.state(id)).status).toBe('running');
  await expect(rt.start(id)).rejects.toBeInstanceOf(ContainerStateError);
  expect((await rt.list()).map((s) => s.id)).toContain(id);

  const exited = rt.wait(id);
  await rt.kill(id, 'KILL');
  expect(await exited).toEqual({ exitCode: 137, signal: 'SIGKILL' });
  const stopped = await rt.state(id);
  expect(stopped.status).toBe('stopped');
  expect(stopped.pid).toBeUndefined();
  await expect(rt.kill(id, 'TERM')).rejects.toBeInstanceOf(ContainerStateError);

  await rt.delete(id);
  expect(cgroupExists(id)).toBe(false);
  await expect(rt.state(id)).rejects.toBeInstanceOf(ContainerNotFoundError);
});

test('delete --force kills a created (never started) container', async () => {
  writeSpec(['sleep', '1000']);
  const id = uniqueId('force');
  const { pid } = await rt.create(id, bundle.dir);
  await rt.delete(id, { force: true });
  expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
  expect(cgroupExists(id)).toBe(false);
});

test('exec joins the namespaces, cgroup, capabilities, seccomp and user of a running container', async () => {
  writeSpec(['sleep', '1000'], (s) => {
    s.hostname = 'exec-target';
  });
  const id = uniqueId('exec');
  const { pid } = await rt.run(id, bundle.dir, { detach: true }) as { pid: number };
  const out = path.join(bundle.dir, `${id}.out`);
  const script = "for n in pid net mnt uts ipc; do readlink /proc/self/ns/$n; done; hostname; grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status; grep :memory: /proc/self/cgroup; id -u; exit 5";
  const handle = await rt.exec(id, { args: ['sh', '-c', script] }, { stdout: out, stderr: out });
  expect(await handle.wait()).toEqual({ exitCode: 5 });
  const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
  ['pid', 'net', 'mnt', 'uts', 'ipc'].forEach((n, i) => expect(lines[i]).toBe(fs.readlinkSync(`/proc/${pid}/ns/${n}`)));
  expect(lines.slice(5)).toEqual([
    'exec-target',
    'CapEff:\t00000000a80425fb',
    'NoNewPrivs:\t1',
    'Seccomp:\t2',
    expect.stringMatching(new RegExp(`:memory:/berth/${id}$`)),
    '0',
  ]);

  const onTerminal = await rt.exec(id, { args: ['sh', '-c', 'tty; stty size'], terminal: true, consoleSize: { height: 40, width: 120 } }, { stdout: 'pipe' });
  let terminalOut = '';
  onTerminal.stdout!.on('data', (d: Buffer) => (terminalOut += d.toString()));
  expect(await onTerminal.wait()).toEqual({ exitCode: 0 });
  expect(terminalOut).toMatch(/^\/dev\/pts\/\d+\r\n40 120\r\n$/);

  const asUser = await rt.exec(id, { args: ['id', '-u'], user: { uid: 1234, gid: 1234 } }, { stdout: 'pipe' });
  let text = '';
  asUser.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  expect((await asUser.wait()).exitCode).toBe(0);
  expect(text.trim()).toBe('1234');
  await rt.delete(id, { force: true });
});

test('with init, pid 1 forwards signals and reaps orphans', async () => {
  // The shell backgrounds a child that exits at once (an orphan to reap) and waits on sleep.
  writeSpec(['sh', '-c', '(sleep 0 &); exec sleep 1000']);
  const id = uniqueId('init');
  await rt.run(id, bundle.dir, { detach: true, init: true });
  const handle = await rt.exec(id, { args: ['sh', '-c', 'sleep 0.3; ps -o pid,stat,args'] }, { stdout: 'pipe' });
  let ps = '';
  handle.stdout!.on('data', (d: Buffer) => (ps += d.toString()));
  await handle.wait();
  expect(ps).not.toMatch(/ Z /); // no zombie left under the init
  expect(ps).toMatch(/^\s*1 /m);
  const exited = rt.wait(id);
  await rt.kill(id, 'SIGTERM'); // sleep, not pid 1, gets it: a bare pid 1 would ignore SIGTERM
  expect(await exited).toEqual({ exitCode: 143 });
  await rt.delete(id);
});

test('namespaces can be joined by path', async () => {
  writeSpec(['sleep', '1000']);
  const first = uniqueId('ns-a');
  const { pid } = (await rt.run(first, bundle.dir, { detach: true })) as { pid: number };
  const out = path.join(bundle.dir, `${first}.out`);
  const joined = { network: 'net', pid: 'pid', ipc: 'ipc', uts: 'uts' } as const;
  writeSpec(['sh', '-c', 'for n in net pid ipc uts; do readlink /proc/self/ns/$n; done; hostname'], (s) => {
    s.linux!.namespaces = s.linux!.namespaces!.map((n) =>
      n.type in joined ? { type: n.type, path: `/proc/${pid}/ns/${joined[n.type as keyof typeof joined]}` } : n,
    );
    delete s.hostname; // the UTS namespace is the first container's
  });
  const second = uniqueId('ns-b');
  expect(await rt.run(second, bundle.dir, { stdio: { stdout: out, stderr: out } })).toEqual({ exitCode: 0 });
  expect(fs.readFileSync(out, 'utf8').trim().split('\n')).toEqual([
    ...['net', 'pid', 'ipc', 'uts'].map((n) => fs.readlinkSync(`/proc/${pid}/ns/${n}`)),
    'berth',
  ]);
  await rt.delete(first, { force: true });
});

test('a malformed config.json is rejected naming the field, and nothing is left behind', async () => {
  const id = uniqueId('bad');
  const before = fs.readdirSync(root);
  for (const [edit, field] of [
    [(s: RuntimeSpec) => ((s.process as unknown as { args: unknown }).args = 5), /^process\.args/],
    [(s: RuntimeSpec) => s.linux!.namespaces!.push({ type: 'bogus' as 'pid' }), /^linux\.namespaces\[5\]\.type/],
    [(s: RuntimeSpec) => (s.hooks = { prestart: [{ path: '/bin/true' }] }), /^hooks/],
  ] as const) {
    writeSpec(['true'], edit);
    const err = await rt.create(id, bundle.dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpecError);
    expect((err as Error).message).toMatch(field);
  }
  // A config that passes validation but fails inside the container's set-up is undone too.
  writeSpec(['true'], (s) => (s.linux!.sysctl = { 'net.ipv4.no_such_knob': '1' }));
  await expect(rt.create(id, bundle.dir)).rejects.toThrow(/sysctl `\/proc\/sys\/net\/ipv4\/no_such_knob` = `1`: No such file/);
  expect(fs.readdirSync(root)).toEqual(before);
  expect(cgroupExists(id)).toBe(false);
});

test('a container outlives the process that created it and is re-adopted from its state directory', async () => {
  writeSpec(['sleep', '1000']);
  const id = uniqueId('orphan');
  // A separate Node process creates and starts the container, then exits.
  const script = `
    const { BerthRuntime } = require(${JSON.stringify(path.resolve(__dirname, '../../dist/node-agent/runtime'))});
    new BerthRuntime({ root: ${JSON.stringify(root)} }).run(${JSON.stringify(id)}, ${JSON.stringify(bundle.dir)}, { detach: true })
      .then((s) => console.log(s.pid), (e) => { console.error(e); process.exit(1); });`;
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
  expect(child.stderr).toBe('');
  const pid = Number(child.stdout.trim());
  const state = await rt.state(id);
  expect(state).toMatchObject({ status: 'running', pid });
  const shim = Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
  expect(fs.readFileSync(`/proc/${shim}/cmdline`, 'utf8')).toContain('berth-shim');
  const exited = rt.wait(id); // this process never had it as a child, yet learns its exit status
  await rt.kill(id, 9);
  expect(await exited).toEqual({ exitCode: 137, signal: 'SIGKILL' });
  await rt.delete(id);
});

test('the minimal init is as restricted as the container\'s process', async () => {
  writeSpec(['sleep', '1000']);
  const id = uniqueId('init-caps');
  await rt.run(id, bundle.dir, { detach: true, init: true });
  const handle = await rt.exec(id, { args: ['sh', '-c', "grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/1/status"] }, { stdout: 'pipe' });
  let status = '';
  handle.stdout!.on('data', (d: Buffer) => (status += d.toString()));
  await handle.wait();
  expect(status.split('\n').filter(Boolean)).toEqual(['CapEff:\t00000000a80425fb', 'CapBnd:\t00000000a80425fb', 'NoNewPrivs:\t1', 'Seccomp:\t2']);
  await rt.delete(id, { force: true });
});

test('wait does not hang when the shim is killed before it can record the exit', async () => {
  writeSpec(['sleep', '1000']);
  const id = uniqueId('shimkill');
  const { pid } = (await rt.run(id, bundle.dir, { detach: true })) as { pid: number };
  const shim = Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
  expect(fs.readFileSync(`/proc/${shim}/cmdline`, 'utf8')).toContain('berth-shim');
  process.kill(shim, 'SIGKILL');
  const waited = rt.wait(id).catch((e: Error) => e);
  process.kill(pid, 'SIGKILL');
  expect(((await waited) as Error).message).toMatch(/no exit status recorded/);
  expect((await rt.state(id)).status).toBe('stopped');
  await rt.delete(id);
});
