import { DockerfileSyntaxError, parseDockerfile } from '../../../node-agent/images/build/parser';
import { expandWord, expandWords, parseKeyValues } from '../../../node-agent/images/build/words';

describe('parseDockerfile', () => {
  it('joins continuations, drops comments, parses exec form and flags', () => {
    const text = [
      '# syntax comment', 'ARG BASE=busybox', 'FROM $BASE AS build', '', 'RUN echo a \\', '  # a comment inside', '  && echo b',
      'COPY --from=build --chown=1:2 ["/a b", "/dst/"]', 'CMD ["sh", "-c", "echo hi"]', 'ENTRYPOINT echo [not json',
    ].join('\n');
    const ins = parseDockerfile(text);
    expect(ins.map((i) => [i.name, i.line])).toEqual([['ARG', 2], ['FROM', 3], ['RUN', 5], ['COPY', 8], ['CMD', 9], ['ENTRYPOINT', 10]]);
    expect(ins[2].raw).toBe('echo a   && echo b');
    expect(ins[3].flags).toEqual({ from: 'build', chown: '1:2' });
    expect(ins[3].json).toEqual(['/a b', '/dst/']);
    expect(ins[4].json).toEqual(['sh', '-c', 'echo hi']);
    expect(ins[5].json).toBeUndefined();
  });

  it('honours the escape directive', () => {
    const ins = parseDockerfile('# escape=`\nFROM scratch\nCOPY a `\n  b\n');
    expect(ins[1].raw).toBe('a   b');
  });

  it.each([
    ['FROM busybox\nFROBNICATE x\n', 2, 'unknown instruction "FROBNICATE"'],
    ['RUN echo hi\n', 1, 'before the first FROM'],
    ['FROM busybox\n\n\nCOPY onlyone\n', 4, 'source and a destination'],
    ['FROM a b c d\n', 1, 'FROM takes'],
    ['FROM busybox\nRUN\n', 2, 'requires at least one argument'],
    ['FROM busybox\nSHELL /bin/bash\n', 2, 'exec (JSON array) form'],
    ['# just a comment\n', 1, 'no FROM'],
  ])('reports a syntax error with its line: %j', (text, line, message) => {
    let error: unknown;
    try {
      parseDockerfile(text);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DockerfileSyntaxError);
    expect((error as DockerfileSyntaxError).line).toBe(line);
    expect((error as Error).message).toContain(`line ${line}`);
    expect((error as Error).message).toContain(message);
  });
});

describe('word expansion', () => {
  const vars = new Map([['A', 'x'], ['EMPTY', ''], ['SP', 'a b']]);
  it.each([
    ['$A', 'x'], ['${A}y', 'xy'], ['${NOPE:-d}', 'd'], ['${EMPTY:-d}', 'd'], ['${EMPTY-d}', ''], ['${A:+alt}', 'alt'],
    ['${NOPE:+alt}', ''], ["'$A'", '$A'], ['"$A b"', 'x b'], ['\\$A', '$A'], ['a$', 'a$'],
  ])('%s → %s', (input, out) => expect(expandWord(input, vars)).toBe(out));

  it('splits words only on unquoted whitespace', () => {
    expect(expandWords('a "b c" $SP', vars)).toEqual(['a', 'b c', 'a', 'b']);
  });

  it('parses ENV/LABEL pairs in both forms', () => {
    expect(parseKeyValues('K=v K2="two words" K3=$A', vars)).toEqual([['K', 'v'], ['K2', 'two words'], ['K3', 'x']]);
    expect(parseKeyValues('K legacy value $A', vars)).toEqual([['K', 'legacy value x']]);
    expect(() => parseKeyValues('K=v oops', vars)).toThrow('KEY=value');
  });
});
