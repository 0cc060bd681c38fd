import { DockerIgnore } from '../../../node-agent/images/build/context';

describe('DockerIgnore', () => {
  const ignore = new DockerIgnore(['# comment', 'node_modules', '*.log', '!keep.log', 'docs/**/*.md', '/tmp*', 'build/', '**/secret?.txt', '']);
  it.each([
    ['node_modules', true],
    ['node_modules/x/y.js', true],
    ['a.log', true],
    ['keep.log', false],
    ['sub/a.log', false],
    ['docs/a.md', true],
    ['docs/x/y/z.md', true],
    ['docs/readme.txt', false],
    ['tmpfile', true],
    ['build/out.o', true],
    ['deep/dir/secret1.txt', true],
    ['secret12.txt', false],
    ['src/index.ts', false],
    ['', false],
  ])('%s excluded: %s', (p, excluded) => expect(ignore.excludes(p)).toBe(excluded));

  it('lets a later exception re-include what an earlier pattern excluded, and a later pattern win again', () => {
    const i = new DockerIgnore(['*.md', '!README.md', 'README*']);
    expect(i.excludes('README.md')).toBe(true);
    expect(new DockerIgnore(['*.md', '!README.md']).excludes('README.md')).toBe(false);
  });
});
