/**
 * Container logs written by berth-shim (CreateOptions.log): CRI records that node-agent/logs parses, partial
 * records for long lines (whole UTF-8 characters), size rotation like LogWriter, a pty's output, output written
 * just before the exit all in the log once the exit is recorded, and the shim's memory.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseLine, readLog, type LogLine } from '../../node-agent/logs';
import { BerthRuntime, type ExitStatus, type LogOptions } from '../../node-agent/runtime';
import { defaultSpec, type RuntimeSpec } from '../../node-agent/runtime/spec';
import { makeBundle, uniqueId, type Bundle } from '../helpers/rootfs';

let root: string;
let logDir: string;
let rt: BerthRuntime;
let bundle: Bundle;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-logs-state-'));
  logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-logs-'));
  rt = new BerthRuntime({ root });
  bundle = makeBundle();
});

afterAll(() => {
  bundle.cleanup();
  const left = fs.readdirSync(root);
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(logDir, { recursive: true, force: true });
  expect(left).toEqual([]);
});

function specFor(script: string, edit?: (spec: RuntimeSpec) => void): RuntimeSpec {
  const spec = defaultSpec({ rootfs: 'rootfs', args: ['sh', '-c', script] });
  edit?.(spec);
  return spec;
}

/** Runs `script` to completion with its output logged; returns the parsed records of the current file. */
async function logged(script: string, log: Partial<LogOptions> = {}, edit?: (spec: RuntimeSpec) => void): Promise<{ file: string; records: LogLine[]; status: ExitStatus }> {
  const id = uniqueId('logs');
  const file = path.join(logDir, `${id}.log`);
  bundle.write(specFor(script, edit));
  const status = (await rt.run(id, bundle.dir, { log: { path: file, ...log } })) as ExitStatus;
  return { file, records: parse(fs.readFileSync(file, 'utf8')), status };
}

function parse(text: string): LogLine[] {
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n').map((raw) => {
    const line = parseLine(raw);
    if (!line) throw new Error(`not a CRI log line: ${JSON.stringify(raw)}`);
    return line;
  });
}

const RFC3339_NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/;

test('stdout and stderr become CRI records with nanosecond timestamps, in order', async () => {
  const before = Date.now();
  // Two pipes: order across the streams holds for writes apart in time (within a stream it always holds).
  const { records, status } = await logged('echo one; sleep 0.2; echo two >&2; sleep 0.2; printf "three\\n\\nfour"; exit 4');
  expect(status.exitCode).toBe(4);
  expect(records.map((r) => [r.stream, r.partial, r.text])).toEqual([
    ['stdout', false, 'one'],
    ['stderr', false, 'two'],
    ['stdout', false, 'three'],
    ['stdout', false, ''],
    ['stdout', true, 'four'], // unfinished when the container exited
  ]);
  for (const r of records) {
    expect(r.time).toMatch(RFC3339_NANO);
    const ms = Date.parse(r.time.replace(/(\.\d{3})\d*Z$/, '$1Z'));
    expect(ms).toBeGreaterThanOrEqual(before - 1000);
    expect(ms).toBeLessThanOrEqual(Date.now());
  }
  const times = records.map((r) => r.time);
  expect([...times].sort()).toEqual(times);
});

test('a line longer than maxLineBytes is split into partial records that never cut a UTF-8 character', async () => {
  // 'é' is 2 bytes: with 5-byte records, "abcé" (5 bytes) fits, "éééé" must be cut after 2 characters.
  const { records } = await logged("printf 'abcdefghij\\n'; printf 'abcé\\n'; printf 'éééé\\n'", { maxLineBytes: 5 });
  expect(records.map((r) => [r.partial, r.text])).toEqual([
    [true, 'abcde'],
    [false, 'fghij'],
    [false, 'abcé'],
    [true, 'éé'],
    [false, 'éé'],
  ]);
});

test('rotates by size to <file>.1..N, keeping maxFiles, and readLog reads across the files', async () => {
  const { file, records } = await logged('i=0; while [ $i -lt 200 ]; do echo "line $i"; i=$((i+1)); done', { maxBytes: 400, maxFiles: 2 });
  expect(fs.existsSync(`${file}.1`)).toBe(true);
  expect(fs.existsSync(`${file}.2`)).toBe(true);
  expect(fs.existsSync(`${file}.3`)).toBe(false);
  for (const f of [file, `${file}.1`, `${file}.2`]) expect(fs.statSync(f).size).toBeLessThanOrEqual(400);
  expect(records[records.length - 1].text).toBe('line 199');
  const all: string[] = [];
  for await (const l of readLog(file)) all.push(l);
  // The newest lines, consecutive across the rotated files, ending with the last one.
  const numbers = all.map((l) => Number(/^line (\d+)\n$/.exec(l)![1]));
  expect(numbers.length).toBeGreaterThan(records.length);
  expect(numbers).toEqual(numbers.map((_, i) => 200 - numbers.length + i));
});

test('all output written just before the exit is in the log once the exit is recorded', async () => {
  const { records, status } = await logged('seq 1 20000; seq 1 3000 >&2; exit 0');
  expect(status.exitCode).toBe(0);
  expect(records.filter((r) => r.stream === 'stdout').map((r) => r.text)).toEqual(Array.from({ length: 20000 }, (_, i) => String(i + 1)));
  expect(records.filter((r) => r.stream === 'stderr')).toHaveLength(3000);
});

test('a container with a terminal logs the pty output as stdout', async () => {
  const { records } = await logged('tty; echo on-the-pty >&2', {}, (s) => {
    s.process!.terminal = true;
  });
  expect(records.map((r) => [r.stream, r.text.replace(/\r$/, '')])).toEqual([
    ['stdout', '/dev/pts/0'],
    ['stdout', 'on-the-pty'],
  ]);
});

test('the logging shim stays under 1 MiB resident', async () => {
  const id = uniqueId('logs');
  const file = path.join(logDir, `${id}.log`);
  bundle.write(specFor('while true; do echo tick; sleep 0.05; done'));
  const state = await rt.create(id, bundle.dir, { log: { path: file } });
  try {
    await rt.start(id);
    await new Promise((r) => setTimeout(r, 500));
    const shim = Number(/^PPid:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/${state.pid}/status`, 'utf8'))![1]);
    expect(fs.readFileSync(`/proc/${shim}/cmdline`, 'utf8').split('\0')[1]).toBe('create');
    const rssKiB = Number(/^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${shim}/status`, 'utf8'))![1]);
    expect(rssKiB).toBeLessThan(1024);
    expect(parse(fs.readFileSync(file, 'utf8')).some((r) => r.text === 'tick')).toBe(true);
  } finally {
    await rt.delete(id, { force: true });
  }
});
