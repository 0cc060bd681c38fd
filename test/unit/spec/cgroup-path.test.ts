import { cgroupRelativePath } from '../../../node-agent/runtime/cgroups';

describe('cgroupRelativePath: every cgroup below berth/', () => {
  it.each([
    ['c1', undefined, 'berth/c1'],
    ['c1', '/berth/c1', 'berth/c1'],
    ['c1', 'berth/pods/c1', 'berth/pods/c1'],
    ['c1', '/docker/abc', 'berth/docker/abc'],
    ['c1', 'system.slice:docker:abc', 'berth/c1'],
  ])('id %s, cgroupsPath %s → %s', (id, cgroupsPath, expected) => {
    expect(cgroupRelativePath(id, cgroupsPath)).toBe(expected);
  });

  it.each([['../x'], ['/berth/../../etc']])('refuses %s', (p) => {
    expect(() => cgroupRelativePath('c1', p)).toThrow(/must not contain "\.\."/);
  });

  it('refuses a path naming only the parent', () => {
    expect(() => cgroupRelativePath('c1', '/berth')).toThrow(/names no cgroup below berth/);
  });

  it('refuses ids that are not one path segment', () => {
    expect(() => cgroupRelativePath('a/b')).toThrow(/invalid container id/);
  });
});
