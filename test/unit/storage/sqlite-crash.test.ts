import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { SqliteStorage } from '../../../api/storage';

/** Runs a .ts file in a child node, transpiled on load (the child has no jest to do it). */
const TS_RUNNER = `
const ts = require('typescript');
require.extensions['.ts'] = (m, file) => m._compile(ts.transpileModule(require('fs').readFileSync(file, 'utf8'), {
  fileName: file, compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
}).outputText, file);
require(process.argv[1]);`;

describe('SqliteStorage after kill -9', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-crash-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('keeps every acknowledged write of 64 concurrent writers and never reuses a revision', async () => {
    const dbPath = path.join(dir, 'berth.db');
    const child = spawn(process.execPath, ['-e', TS_RUNNER, path.join(__dirname, 'crash-writer.ts'), dbPath], {
      cwd: path.join(__dirname, '../../..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const created = new Map<string, string>();
    let maxCount = 0;
    let maxRevision = 0;
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    for await (const line of readline.createInterface({ input: child.stdout! })) {
      const [kind, what, rev] = line.split(' ');
      if (kind === 'create') created.set(what, rev);
      else maxCount = Math.max(maxCount, Number(what));
      maxRevision = Math.max(maxRevision, Number(rev));
      if (created.size === 3000) child.kill('SIGKILL'); // by pid, mid-write
    }
    expect(await exited).toBe('SIGKILL');
    expect(created.size).toBeGreaterThanOrEqual(3000);

    const store = new SqliteStorage(dbPath);
    try {
      for (const [key, rev] of created) expect((await store.get(key)).metadata.resourceVersion).toBe(rev);
      const counter = await store.get('/registry/crash/ns/counter');
      expect((counter.spec as { count: number }).count).toBeGreaterThanOrEqual(maxCount);
      expect(await store.currentRevision()).toBeGreaterThanOrEqual(maxRevision);
      const after = await store.create('/registry/crash/ns/after', { metadata: { name: 'after' } });
      expect(Number(after.metadata.resourceVersion)).toBeGreaterThan(maxRevision);
    } finally {
      await store.close();
    }
  });
});
