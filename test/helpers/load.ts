/**
 * An HTTP load generator in a child process, so the load does not compete for the event loop with a service proxy
 * running in the test's (or benchmark's) own process. `concurrency` clients each send GET / on a new connection
 * (so every request is balanced afresh), one after the other, until stopped or a request/time budget is spent.
 */
import { spawn } from 'node:child_process';
import * as http from 'node:http';

export interface LoadOptions {
  readonly host?: string;
  readonly port: number;
  /** Clients sending requests side by side; 4 unless set. */
  readonly concurrency?: number;
  /** Stop after this many requests in all (answered or failed). */
  readonly requests?: number;
  /** Stop after this long. Without a budget the load runs until `stop()`. */
  readonly durationMs?: number;
  /** A request unanswered this long counts as failed; 5 s unless set. */
  readonly timeoutMs?: number;
}

/** When responses with one body were seen, in ms since the load started. */
export interface BodyTimes {
  readonly count: number;
  /** The earliest completion of a request with this body. */
  readonly firstDoneMs: number;
  /** The latest start of a request with this body. */
  readonly lastStartMs: number;
}

export interface LoadReport {
  /** Requests answered with status 200. */
  readonly ok: number;
  readonly failed: number;
  /** Failures by cause (`ECONNRESET`, `status 502`, `timeout`, ...). */
  readonly failures: Record<string, number>;
  /** 200 responses by their trimmed body. */
  readonly bodies: Record<string, BodyTimes>;
  /** Latency of each 200 response, ms. */
  readonly latenciesMs: number[];
  /** The longest time with no 200 response completing (start and stop included): a downtime, measured. */
  readonly longestGapMs: number;
  readonly elapsedMs: number;
}

export interface RunningLoad {
  /** Ends the load once the requests in flight have finished, and reports. */
  stop(): Promise<LoadReport>;
  /** Resolves with the report once a request or time budget is spent. */
  readonly done: Promise<LoadReport>;
}

// Plain JavaScript run with `node -e`: prints `started` when its clients start, the JSON report when they end.
const LOAD_SCRIPT = `
const http = require('node:http');
const o = JSON.parse(process.argv[1]);
const t0 = performance.now();
const now = () => performance.now() - t0;
const r = { ok: 0, failed: 0, failures: {}, bodies: {}, latenciesMs: [], longestGapMs: 0 };
let stopping = false, sent = 0, lastOk = 0;
process.stdin.on('end', () => (stopping = true)).resume();
const more = () => !stopping && (o.requests === undefined || sent < o.requests) && (o.durationMs === undefined || now() < o.durationMs);
const fail = (why) => { r.failed++; r.failures[why] = (r.failures[why] || 0) + 1; };
const one = () => new Promise((resolve) => {
  sent++;
  const start = now();
  const req = http.get({ host: o.host, port: o.port, path: '/', agent: false, timeout: o.timeoutMs }, (res) => {
    let body = '';
    res.setEncoding('latin1');
    res.on('data', (d) => (body += d));
    res.on('error', (e) => { fail(e.code || e.message); resolve(); });
    res.on('end', () => {
      if (res.statusCode !== 200) { fail('status ' + res.statusCode); return resolve(); }
      const done = now();
      r.ok++;
      r.latenciesMs.push(Math.round((done - start) * 100) / 100);
      r.longestGapMs = Math.max(r.longestGapMs, done - lastOk);
      lastOk = done;
      const key = body.trim();
      const b = (r.bodies[key] = r.bodies[key] || { count: 0, firstDoneMs: done, lastStartMs: start });
      b.count++;
      b.lastStartMs = Math.max(b.lastStartMs, start);
      resolve();
    });
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => { fail(e.code || e.message); resolve(); });
});
const client = async () => { while (more()) await one(); };
console.log('started');
Promise.all(Array.from({ length: o.concurrency }, client)).then(() => {
  r.elapsedMs = now();
  r.longestGapMs = Math.round(Math.max(r.longestGapMs, r.elapsedMs - lastOk));
  console.log(JSON.stringify(r));
  process.exit(0);
});
`;

/** Starts the load; resolves once its clients are sending. */
export function startLoad(opts: LoadOptions): Promise<RunningLoad> {
  const config = { host: opts.host ?? '127.0.0.1', port: opts.port, concurrency: opts.concurrency ?? 4, requests: opts.requests, durationMs: opts.durationMs, timeoutMs: opts.timeoutMs ?? 5000 };
  const child = spawn(process.execPath, ['-e', LOAD_SCRIPT, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  const started = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: string) => {
      out += d;
      if (out.startsWith('started\n')) resolve();
    });
    child.once('error', reject);
    child.once('close', () => reject(new Error(`load generator ended before it started: ${out.slice(-500)}`)));
  });
  child.stdin.on('error', () => undefined); // stop() after the budget ended it: nothing left to tell
  const done = new Promise<LoadReport>((resolve, reject) =>
    child.once('close', (code) => {
      const report = out.split('\n').find((line) => line.startsWith('{'));
      if (code === 0 && report) resolve(JSON.parse(report) as LoadReport);
      else reject(new Error(`load generator exited with ${code}: ${out.slice(-500)}`));
    }),
  );
  done.catch(() => undefined); // reported through stop() or done, whichever the caller awaits
  return started.then(() => ({
    done,
    stop: () => {
      child.stdin.end();
      return done;
    },
  }));
}

/** Runs a load with a request or time budget to its end. */
export async function runLoad(opts: LoadOptions & ({ requests: number } | { durationMs: number })): Promise<LoadReport> {
  return (await startLoad(opts)).done;
}

/** One GET / on a new connection from this process: `STATUS BODY` (body trimmed), or `error` when it fails. */
export function request(port: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: '/', agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(`${res.statusCode} ${body.trim()}`));
      res.on('error', () => resolve('error'));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve('error'));
  });
}
