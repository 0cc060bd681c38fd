import { familiarReference, formatReference, InvalidReferenceError, parseReference } from '../../../node-agent/images/refs';

const D = 'sha256:' + 'a'.repeat(64);

describe('parseReference', () => {
  it.each([
    ['busybox', 'docker.io', 'library/busybox', 'latest', undefined],
    ['busybox:1', 'docker.io', 'library/busybox', '1', undefined],
    ['library/busybox:1.36.1', 'docker.io', 'library/busybox', '1.36.1', undefined],
    ['user/app', 'docker.io', 'user/app', 'latest', undefined],
    ['docker.io/busybox', 'docker.io', 'library/busybox', 'latest', undefined],
    ['index.docker.io/user/app:v2', 'docker.io', 'user/app', 'v2', undefined],
    ['localhost:5000/a/b:tag', 'localhost:5000', 'a/b', 'tag', undefined],
    ['localhost/a', 'localhost', 'a', 'latest', undefined],
    ['127.0.0.1:5000/x', '127.0.0.1:5000', 'x', 'latest', undefined],
    ['quay.io/org/sub/img:1.0-rc_1', 'quay.io', 'org/sub/img', '1.0-rc_1', undefined],
    [`busybox@${D}`, 'docker.io', 'library/busybox', undefined, D],
    [`localhost:5000/a:t@${D}`, 'localhost:5000', 'a', 't', D],
    ['my-reg.example.com:443/a__b/c.d', 'my-reg.example.com:443', 'a__b/c.d', 'latest', undefined],
  ])('%s', (input, registry, repository, tag, digest) => {
    const ref = parseReference(input);
    expect(ref.registry).toBe(registry);
    expect(ref.repository).toBe(repository);
    expect(ref.tag).toBe(tag);
    expect(ref.digest).toBe(digest);
  });

  it.each([
    ['', 'empty'],
    ['Busybox', 'repository component'],
    ['busybox:', 'bad tag'],
    ['busybox:-x', 'bad tag'],
    ['busybox@sha256:abc', 'bad digest'],
    ['a//b', 'repository component'],
    ['a/b_', 'repository component'],
    ['localhost:5000/', 'repository component'],
  ])('rejects %j', (input, reason) => {
    expect(() => parseReference(input)).toThrow(InvalidReferenceError);
    expect(() => parseReference(input)).toThrow(reason);
  });

  it('formats fully qualified and familiar names', () => {
    expect(formatReference(parseReference('busybox'))).toBe('docker.io/library/busybox:latest');
    expect(familiarReference(parseReference('docker.io/library/busybox:1'))).toBe('busybox:1');
    expect(familiarReference(parseReference('user/app'))).toBe('user/app:latest');
    expect(familiarReference(parseReference('localhost:5000/a/b:t'))).toBe('localhost:5000/a/b:t');
  });
});
