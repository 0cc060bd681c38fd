/** SharedJsonFile.update from several processes at once (API server workers, the CLI): no change is lost. */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SharedJsonFile } from '../../../api/auth';

const distJsonFile = path.resolve(__dirname, '../../../dist/api/auth/jsonfile.js');

/** A process that appends `n` entries to `file`, one update each. */
const appender = (file: string, name: string, n: number): Promise<number | null> => {
  const script = `
    const { SharedJsonFile } = require(${JSON.stringify(distJsonFile)});
    const f = new SharedJsonFile(${JSON.stringify(file)}, () => ({ entries: [] }));
    for (let i = 0; i < ${n}; i++) f.update((s) => ({ entries: [...s.entries, ${JSON.stringify(name)} + i] }));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'inherit'] });
  return new Promise((resolve) => child.once('exit', resolve));
};

describe('SharedJsonFile across processes', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-jsonfile-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('When three processes update one file at once, Then every change is kept and the lock is gone', async () => {
    const file = path.join(dir, 'state.json');
    new SharedJsonFile(file, () => ({ entries: [] as string[] }));
    expect(await Promise.all(['a', 'b', 'c'].map((name) => appender(file, name, 150)))).toEqual([0, 0, 0]);
    const { entries } = JSON.parse(fs.readFileSync(file, 'utf8')) as { entries: string[] };
    expect(entries).toHaveLength(450);
    expect(new Set(entries).size).toBe(450);
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  });

  it('When a lock was left by a process that died, Then the next update takes it over', () => {
    const file = path.join(dir, 'state.json');
    const state = new SharedJsonFile(file, () => ({ n: 0 }));
    fs.writeFileSync(`${file}.lock`, '2147483646'); // no such pid
    expect(state.update((s) => ({ n: s.n + 1 })).n).toBe(1);
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  });
});
