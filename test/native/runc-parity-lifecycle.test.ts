/**
 * The ContainerRuntime contract, the same under the runc backend and Berth's runtime: statuses
 * through create/start/exit/delete, errors for wrong states and unknown ids, pid files, cgroups
 * below berth/, bad config rejected before anything exists.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthRuntime, ContainerNotFoundError, ContainerStateError, type ContainerRuntime } from '../../node-agent/runtime';
import { RuncRuntime } from '../../node-agent/runtime/runc';
import { SpecError } from '../../node-agent/runtime/spec';
import { makeBundle, uniqueId, type Bundle } from '../helpers/rootfs';

/** runc leaves its killed init to be reaped by pid 1, so a zombie counts as gone. */
function isDeadOrZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}

let bundle: Bundle;
beforeAll(() => {
  bundle = makeBundle({ args: ['/bin/sleep', '30'] });
});
afterAll(() => bundle.cleanup());

describe.each<[string, () => ContainerRuntime]>([
  ['runc', () => new RuncRuntime()],
  ['berth', () => new BerthRuntime()],
])('%s runtime lifecycle', (_name, make) => {
  const rt = make();
  const ids: string[] = [];
  const newId = () => {
    const id = uniqueId('life');
    ids.push(id);
    return id;
  };

  // A failed assertion must not leave containers behind: remove what is left, then insist nothing was.
  afterEach(async () => {
    const left = (await rt.list()).filter((s) => ids.includes(s.id));
    for (const s of left) await rt.delete(s.id, { force: true });
    ids.length = 0;
    expect(left.map((s) => s.id)).toEqual([]);
  });

  it('create → created (pid file, cgroup under berth/) → start → running → kill → stopped → delete → gone', async () => {
    const id = newId();
    const pidFile = path.join(bundle.dir, `${id}.pid`);
    const created = await rt.create(id, bundle.dir, { pidFile });
    expect(created).toMatchObject({ id, status: 'created', bundle: bundle.dir });
    expect(Number(fs.readFileSync(pidFile, 'utf8'))).toBe(created.pid);
    expect(fs.readFileSync(`/proc/${created.pid}/cgroup`, 'utf8')).toContain(`:memory:/berth/${id}\n`);
    expect((await rt.list()).map((s) => s.id)).toContain(id);
    await rt.start(id);
    expect((await rt.state(id)).status).toBe('running');
    await expect(rt.start(id)).rejects.toBeInstanceOf(ContainerStateError);
    await rt.kill(id, 'SIGKILL');
    await rt.wait(id);
    expect((await rt.state(id)).status).toBe('stopped');
    await rt.delete(id);
    await expect(rt.state(id)).rejects.toBeInstanceOf(ContainerNotFoundError);
    expect(fs.existsSync(`/sys/fs/cgroup/memory/berth/${id}`)).toBe(false);
    fs.rmSync(pidFile);
  });

  it('exec runs a process inside the running container, with its exit status', async () => {
    const id = newId();
    await rt.create(id, bundle.dir);
    await rt.start(id);
    const out = path.join(bundle.dir, `${id}.exec`);
    const handle = await rt.exec(id, { args: ['/bin/sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; hostname; grep CapEff /proc/self/status; exit 4'] }, { stdout: out });
    expect(await handle.wait()).toEqual({ exitCode: 4 });
    expect(fs.readFileSync(out, 'utf8')).toMatch(/^\/bin\/sleep 30 berth\nCapEff:\s+00000000a80425fb\n$/);
    await rt.delete(id, { force: true });
    fs.rmSync(out);
  });

  it('delete --force removes a running container', async () => {
    const id = newId();
    const { pid } = await rt.create(id, bundle.dir);
    await rt.start(id);
    await rt.delete(id, { force: true });
    expect(isDeadOrZombie(pid!)).toBe(true);
    await expect(rt.state(id)).rejects.toBeInstanceOf(ContainerNotFoundError);
  });

  it('rejects an unknown id', async () => {
    await expect(rt.state(uniqueId('none'))).rejects.toBeInstanceOf(ContainerNotFoundError);
    await expect(rt.delete(uniqueId('none'))).rejects.toBeInstanceOf(ContainerNotFoundError);
  });

  it('rejects a malformed config.json naming the field, and leaves nothing behind', async () => {
    const bad = makeBundle({ args: ['/bin/true'] });
    bad.spec.linux!.namespaces![2] = { type: 'foo' as never };
    bad.write();
    const id = uniqueId('bad');
    await expect(rt.create(id, bad.dir)).rejects.toThrow(SpecError);
    await expect(rt.create(id, bad.dir)).rejects.toThrow('linux.namespaces[2].type: unsupported "foo"');
    await expect(rt.state(id)).rejects.toBeInstanceOf(ContainerNotFoundError);
    expect(fs.existsSync(`/sys/fs/cgroup/memory/berth/${id}`)).toBe(false);
    bad.cleanup();
  });
});
