import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildRuntimeSpec, DEFAULT_PIDS_LIMIT, mergeEnv, resolveArgs, resolveUser } from '../../../node-agent/agent/bundle';

describe('Container → OCI config', () => {
  it.each([
    [{}, { Entrypoint: ['/ep'], Cmd: ['c1'] }, ['/ep', 'c1']],
    [{ command: ['/bin/x'] }, { Entrypoint: ['/ep'], Cmd: ['c1'] }, ['/bin/x']],
    [{ args: ['a'] }, { Entrypoint: ['/ep'], Cmd: ['c1'] }, ['/ep', 'a']],
    [{ command: ['/bin/x'], args: ['a'] }, { Entrypoint: ['/ep'], Cmd: ['c1'] }, ['/bin/x', 'a']],
    [{}, { Cmd: ['sh'] }, ['sh']],
  ])('spec %j over image %j runs %j', (spec, image, want) => expect(resolveArgs(spec, image)).toEqual(want));

  it('rejects a container with nothing to run, naming the field', () => {
    expect(() => resolveArgs({}, {})).toThrow('spec.command: no command given');
  });

  it('lets container env override image env by name', () => {
    expect(mergeEnv(['PATH=/bin', 'A=1'], ['A=2', 'B=3'])).toEqual(['PATH=/bin', 'A=2', 'B=3']);
  });

  describe('users', () => {
    let rootfs: string;
    beforeAll(() => {
      rootfs = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-rootfs-'));
      fs.mkdirSync(path.join(rootfs, 'etc'));
      fs.writeFileSync(path.join(rootfs, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n');
      fs.writeFileSync(path.join(rootfs, 'etc/group'), 'root:x:0:\nstaff:x:50:\n');
    });
    afterAll(() => fs.rmSync(rootfs, { recursive: true, force: true }));

    it.each([
      [undefined, { uid: 0, gid: 0 }],
      ['1234', { uid: 1234, gid: 1234 }],
      ['1234:5', { uid: 1234, gid: 5 }],
      ['app', { uid: 1000, gid: 1001 }],
      ['app:staff', { uid: 1000, gid: 50 }],
    ])('%p resolves to %j', (user, want) => expect(resolveUser(user, rootfs, 'spec.user')).toEqual(want));

    it('names the field when a user is unknown', () => {
      expect(() => resolveUser('ghost', rootfs, 'spec.user')).toThrow('spec.user: "ghost" not found in the image\'s /etc/passwd');
    });

    it('builds a locked-down spec with limits, env, cwd, hostname and the network namespace to join', () => {
      const spec = buildRuntimeSpec({
        name: 'web-1',
        spec: { env: [{ name: 'A', value: '2' }], resources: { limits: { cpu: '500m', memory: '64Mi' } }, user: 'app' },
        image: { Entrypoint: ['/srv'], Env: ['A=1', 'PATH=/usr/bin'], WorkingDir: '/app' },
        rootfs,
        netnsPath: '/run/netns/berth-x',
        cgroupsPath: 'berth/default_web-1',
      });
      expect(spec.process!.args).toEqual(['/srv']);
      expect(spec.process!.env).toEqual(expect.arrayContaining(['A=2', 'PATH=/usr/bin']));
      expect(spec.process!.cwd).toBe('/app');
      expect(spec.process!.user).toEqual({ uid: 1000, gid: 1001 });
      expect(spec.process!.noNewPrivileges).toBe(true);
      expect(spec.hostname).toBe('web-1');
      expect(spec.linux!.resources!.memory).toEqual({ limit: 64 * 2 ** 20 });
      expect(spec.linux!.resources!.cpu).toMatchObject({ quota: 50_000, period: 100_000 });
      expect(spec.linux!.resources!.pids).toEqual({ limit: DEFAULT_PIDS_LIMIT });
      expect(spec.linux!.namespaces).toContainEqual({ type: 'network', path: '/run/netns/berth-x' });
      expect(spec.linux!.seccomp).toBeDefined();
    });

    it('names the limit that cannot be parsed', () => {
      const base = { name: 'x', image: { Cmd: ['sh'] }, rootfs, cgroupsPath: 'berth/x' };
      expect(() => buildRuntimeSpec({ ...base, spec: { resources: { limits: { memory: 'lots' } } } })).toThrow(/^spec.resources.limits.memory: invalid quantity/);
    });
  });
});
