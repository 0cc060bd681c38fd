import * as fs from 'node:fs';
import { LogLine, parseLine } from './format';

export interface ReadLogOptions {
  /** Only the last N lines (of all rotated files together). */
  readonly tailLines?: number;
  /** Only lines written at or after this time. */
  readonly since?: Date;
  /** Prefix each line with its timestamp, as `kubectl logs --timestamps`. */
  readonly timestamps?: boolean;
  /** Keep the stream open and emit lines as they are appended, until `signal` aborts. */
  readonly follow?: boolean;
  readonly signal?: AbortSignal;
  /** How often a followed file is checked for new data. */
  readonly pollMs?: number;
}

/** Rotated files oldest first, then the current one. */
function filesOf(file: string): string[] {
  const rotated: string[] = [];
  for (let i = 1; fs.existsSync(`${file}.${i}`); i++) rotated.unshift(`${file}.${i}`);
  return fs.existsSync(file) ? [...rotated, file] : rotated;
}

/** A file listed a moment ago may have been rotated away (renamed onto the next number, the last one deleted). */
function readIfPresent(f: string): string {
  try {
    return fs.readFileSync(f, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

function render(line: LogLine, opts: ReadLogOptions): string {
  const text = line.partial ? line.text : `${line.text}\n`;
  return opts.timestamps ? `${line.time} ${text}` : text;
}

function accept(line: LogLine | undefined, opts: ReadLogOptions): line is LogLine {
  return !!line && (!opts.since || Date.parse(line.time.replace(/(\.\d{3})\d*Z$/, '$1Z')) >= opts.since.getTime());
}

/**
 * Reads a container's log (as `kubectl logs` shows it): the rotated files and the current one, filtered by
 * `since`, cut to `tailLines`, then — with `follow` — new lines as they arrive, across rotations.
 */
export async function* readLog(file: string, opts: ReadLogOptions = {}): AsyncGenerator<string> {
  const lines: LogLine[] = [];
  for (const f of filesOf(file)) {
    for (const raw of readIfPresent(f).split('\n')) {
      const line = parseLine(raw);
      if (accept(line, opts)) lines.push(line);
    }
  }
  const start = opts.tailLines !== undefined ? Math.max(0, lines.length - opts.tailLines) : 0;
  for (let i = start; i < lines.length; i++) yield render(lines[i], opts);
  if (!opts.follow) return;
  yield* follow(file, opts);
}

async function* follow(file: string, opts: ReadLogOptions): AsyncGenerator<string> {
  let ino = fs.existsSync(file) ? fs.statSync(file).ino : 0;
  let offset = ino ? fs.statSync(file).size : 0;
  let carry = '';
  const pollMs = opts.pollMs ?? 100;
  while (!opts.signal?.aborted) {
    await new Promise((r) => setTimeout(r, pollMs));
    if (!fs.existsSync(file)) continue;
    const st = fs.statSync(file);
    if (st.ino !== ino) {
      // Rotated: the rest of the old file was renamed away; start the new current file from its beginning.
      ino = st.ino;
      offset = 0;
      carry = '';
    }
    if (st.size <= offset) continue;
    const fd = fs.openSync(file, 'r');
    const buf = Buffer.alloc(st.size - offset);
    fs.readSync(fd, buf, 0, buf.length, offset);
    fs.closeSync(fd);
    offset = st.size;
    const parts = (carry + buf.toString()).split('\n');
    carry = parts.pop() ?? '';
    for (const raw of parts) {
      const line = parseLine(raw);
      if (accept(line, opts)) yield render(line, opts);
    }
  }
}
