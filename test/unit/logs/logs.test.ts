import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LogWriter, parseLine, readLog } from '../../../node-agent/logs';

const collect = async (it: AsyncGenerator<string>): Promise<string[]> => {
  const out: string[] = [];
  for await (const s of it) out.push(s);
  return out;
};

describe('container logs', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-logs-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes CRI lines per stream, joining chunks split mid-line', async () => {
    const file = path.join(dir, '0.log');
    const w = new LogWriter(file);
    w.write('stdout', 'hel');
    w.write('stderr', 'oops\n');
    w.write('stdout', 'lo\nworld\n');
    w.close();
    const raw = fs.readFileSync(file, 'utf8').trim().split('\n');
    expect(raw.map((l) => parseLine(l)!.stream)).toEqual(['stderr', 'stdout', 'stdout']);
    expect(raw[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stderr F oops$/);
    expect(await collect(readLog(file))).toEqual(['oops\n', 'hello\n', 'world\n']);
  });

  it('rotates by size, keeps maxFiles, and reads across rotated files with tail', async () => {
    const file = path.join(dir, '0.log');
    const w = new LogWriter(file, { maxBytes: 200, maxFiles: 2 });
    for (let i = 0; i < 30; i++) w.write('stdout', `line ${i}\n`);
    w.close();
    expect(fs.existsSync(`${file}.1`)).toBe(true);
    expect(fs.existsSync(`${file}.2`)).toBe(true);
    expect(fs.existsSync(`${file}.3`)).toBe(false);
    for (const f of [file, `${file}.1`, `${file}.2`]) expect(fs.statSync(f).size).toBeLessThanOrEqual(200);
    const all = await collect(readLog(file));
    expect(all[all.length - 1]).toBe('line 29\n');
    expect(await collect(readLog(file, { tailLines: 2 }))).toEqual(['line 28\n', 'line 29\n']);
  });

  it('splits over-long lines into partial records that read back whole', async () => {
    const file = path.join(dir, '0.log');
    const w = new LogWriter(file, { maxLineBytes: 4 });
    w.write('stdout', 'abcdefghij\n');
    w.close();
    const tags = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => parseLine(l)!.partial);
    expect(tags).toEqual([true, true, false]);
    expect((await collect(readLog(file))).join('')).toBe('abcdefghij\n');
  });

  it('filters by since and prefixes timestamps on request', async () => {
    const file = path.join(dir, '0.log');
    let now = new Date('2026-01-01T00:00:00Z');
    const w = new LogWriter(file, { clock: () => now });
    w.write('stdout', 'old\n');
    now = new Date('2026-01-01T01:00:00Z');
    w.write('stdout', 'new\n');
    w.close();
    const lines = await collect(readLog(file, { since: new Date('2026-01-01T00:30:00Z'), timestamps: true }));
    expect(lines).toEqual(['2026-01-01T01:00:00.000000000Z new\n']);
  });

  it('follows appended lines, across a rotation, until aborted', async () => {
    const file = path.join(dir, '0.log');
    const w = new LogWriter(file, { maxBytes: 120, maxFiles: 1 });
    w.write('stdout', 'first\n');
    const abort = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (const s of readLog(file, { follow: true, signal: abort.signal, pollMs: 10 })) {
        seen.push(s);
        if (seen.length === 4) abort.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 50));
    w.write('stdout', 'second\n');
    await new Promise((r) => setTimeout(r, 50));
    w.write('stdout', 'third-and-a-long-line-that-forces-rotation-of-the-file-xxxxxxxxxxxxxxxx\n');
    await new Promise((r) => setTimeout(r, 50));
    w.write('stdout', 'fourth\n');
    await done;
    w.close();
    expect(seen[0]).toBe('first\n');
    expect(seen).toContain('second\n');
    expect(seen[seen.length - 1]).toBe('fourth\n');
  });
});
