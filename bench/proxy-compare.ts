/**
 * The service proxy against a direct connection, fairly: the same client (in its own process) with the same number
 * of connections, direct and proxied runs interleaved in rounds (alternating which goes first) so that the noise of a
 * shared machine hits both, and the ratio and added p99 taken per round, then their median.
 */
import { execFile } from 'node:child_process';
import * as os from 'node:os';
import { cpuMs, median, percentile, round } from './stats';

export interface Target {
  readonly host: string;
  readonly port: number;
}

export interface LoadSample {
  readonly latenciesMs: number[];
  readonly failed: number;
  /** Failures by cause (`ECONNRESET`, `status 502`, ...). */
  readonly failures: Record<string, number>;
  readonly elapsedMs: number;
}

/** One load run against targets (requests or connections spread over them in turn): new-connection HTTP requests, or round trips on kept-alive connections. */
export type Client = (targets: readonly Target[], durationMs: number, concurrency: number) => Promise<LoadSample>;

/** Runs a load script (plain JavaScript for `node -e`, options as JSON in argv[1], a LoadSample as JSON on stdout) in a process of its own. */
function runScript(script: string, options: object): Promise<LoadSample> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ['-e', script, JSON.stringify(options)], { maxBuffer: 256 * 2 ** 20 }, (err, stdout) =>
      err ? reject(new Error(`load against ${JSON.stringify(options).slice(0, 200)}: ${err.message}`)) : resolve(JSON.parse(stdout) as LoadSample),
    ),
  );
}

// GET / on a new connection per request (to the targets in turn, as test/helpers/load does to one), reading the
// whole answer; a status other than 200 is a failure. Closed loop (o.rate unset): o.concurrency clients each send
// their next request when the last one is answered, until the time is up. Open loop (o.rate set): o.rate requests
// a second on schedule, whether or not earlier ones are answered, so a slow answer does not hold the next back.
const NEW_CONNECTION_SCRIPT = `
const http = require('node:http');
const o = JSON.parse(process.argv[1]);
const latenciesMs = []; let failed = 0; const failures = {}; let next = 0;
const fail = (why) => { failed++; failures[why] = (failures[why] || 0) + 1; };
const t0 = performance.now();
const one = () => new Promise((resolve) => {
  const { host, port } = o.targets[next++ % o.targets.length];
  const start = performance.now();
  const req = http.get({ host, port, path: '/', agent: false, timeout: 5000 }, (res) => {
    res.resume();
    res.on('error', (e) => { fail(e.code || e.message); resolve(); });
    res.on('end', () => {
      if (res.statusCode === 200) latenciesMs.push(Math.round((performance.now() - start) * 100) / 100);
      else fail('status ' + res.statusCode);
      resolve();
    });
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => { fail(e.code || e.message); resolve(); });
});
const client = async () => { while (performance.now() - t0 < o.durationMs) await one(); };
const openLoop = () => new Promise((resolve) => {
  const sent = [];
  const tick = () => {
    const due = Math.min(o.durationMs, performance.now() - t0) * o.rate / 1000;
    while (sent.length < due) sent.push(one());
    if (performance.now() - t0 < o.durationMs) setTimeout(tick, 1);
    else Promise.all(sent).then(resolve);
  };
  tick();
});
(o.rate ? openLoop() : Promise.all(Array.from({ length: o.concurrency }, client))).then(() =>
  console.log(JSON.stringify({ latenciesMs, failed, failures, elapsedMs: performance.now() - t0 })));
`;

/** GET / on a new connection per request: each request pays a connect (through the proxy, when proxied). */
export const newConnectionPerRequest: Client = (targets, durationMs, concurrency) => runScript(NEW_CONNECTION_SCRIPT, { targets, durationMs, concurrency });

/**
 * GET / on a new connection per request at a fixed `rate` a second (open loop; the concurrency is ignored): latency
 * below saturation. In a closed loop at saturation a client's latency is its concurrency over the throughput
 * (Little's law), so any throughput lost shows again as latency and the added p99 only restates the throughput ratio.
 */
export const newConnectionAtRate =
  (rate: number): Client =>
  (targets, durationMs) =>
    runScript(NEW_CONNECTION_SCRIPT, { targets, durationMs, rate });

// Each connection (to the targets in turn) sends a message and waits for all of it to come back (an echo server),
// again and again until the time is up.
const ROUND_TRIP_SCRIPT = `
const net = require('node:net');
const o = JSON.parse(process.argv[1]);
const message = Buffer.alloc(o.bytes, 'x');
const latenciesMs = []; let failed = 0; const failures = {};
const t0 = performance.now();
const connection = (i) => new Promise((resolve) => {
  const s = net.connect({ ...o.targets[i % o.targets.length], noDelay: true });
  let got = 0, sentAt = 0;
  const send = () => {
    if (performance.now() - t0 >= o.durationMs) return s.end();
    got = 0; sentAt = performance.now(); s.write(message);
  };
  s.on('connect', send);
  s.on('data', (d) => { got += d.length; if (got >= message.length) { latenciesMs.push(performance.now() - sentAt); send(); } });
  s.on('error', (e) => { failed++; failures[e.code || e.message] = (failures[e.code || e.message] || 0) + 1; });
  s.on('close', resolve);
});
Promise.all(Array.from({ length: o.concurrency }, (_, i) => connection(i))).then(() =>
  console.log(JSON.stringify({ latenciesMs, failed, failures, elapsedMs: performance.now() - t0 })));
`;

/** `bytes`-byte round trips on kept-alive connections to an echo server: the proxy's cost per message, no connect. */
export const keptAliveRoundTrips =
  (bytes = 100): Client =>
  (targets, durationMs, concurrency) =>
    runScript(ROUND_TRIP_SCRIPT, { targets, durationMs, concurrency, bytes });

export interface Comparison {
  readonly proxyRps: number;
  readonly directRps: number;
  /** Median over rounds of proxied / direct requests per second. */
  readonly throughputRatio: number;
  readonly proxyP50Ms: number;
  readonly proxyP99Ms: number;
  readonly directP50Ms: number;
  readonly directP99Ms: number;
  /** Median over rounds of proxied p99 − direct p99. */
  readonly addedP99Ms: number;
  readonly failed: number;
  /** Failures by `direct`/`proxied` and cause. */
  readonly failures: Record<string, number>;
  /** CPU time the proxy process spent per proxied request (user + system, its share of kernel network work included). */
  readonly proxyCpuUsPerRequest?: number;
  /** 1-minute load average at the start and at the end. */
  readonly loadAverage: [number, number];
}

export interface CompareOptions {
  /** Where direct requests go: one target, or several in turn (as the proxy spreads over its endpoints). */
  readonly direct: Target | readonly Target[];
  readonly proxied: Target;
  readonly client: Client;
  readonly rounds?: number;
  readonly roundMs?: number;
  readonly concurrency?: number;
  /** The pid of the proxy's process, to measure its CPU time during the proxied rounds. */
  readonly proxyPid?: () => number | undefined;
}

/** CPU time process `pid` has used so far, ms; NaN when there is none (no pid, or it ended). */
function cpuMsOf(pid: number | undefined): number {
  try {
    return pid === undefined ? NaN : cpuMs(pid);
  } catch {
    return NaN;
  }
}

export async function compareProxy(opts: CompareOptions): Promise<Comparison> {
  const { rounds = 5, roundMs = 2000, concurrency = 8 } = opts;
  const loadBefore = os.loadavg()[0];
  const runs = { direct: [] as LoadSample[], proxied: [] as LoadSample[] };
  let proxyCpuMs = 0;
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 ? (['proxied', 'direct'] as const) : (['direct', 'proxied'] as const);
    for (const which of order) {
      const cpuBefore = cpuMsOf(opts.proxyPid?.());
      runs[which].push(await opts.client(([] as Target[]).concat(opts[which]), roundMs, concurrency));
      if (which === 'proxied') proxyCpuMs += cpuMsOf(opts.proxyPid?.()) - cpuBefore;
    }
  }
  const rps = (s: LoadSample) => s.latenciesMs.length / (s.elapsedMs / 1000);
  const all = (samples: LoadSample[]) => samples.flatMap((s) => s.latenciesMs);
  const [direct, proxied] = [all(runs.direct), all(runs.proxied)];
  const sum = (samples: LoadSample[]) => samples.reduce((n, s) => n + s.latenciesMs.length, 0) / (samples.reduce((t, s) => t + s.elapsedMs, 0) / 1000);
  return {
    proxyRps: round(sum(runs.proxied)),
    directRps: round(sum(runs.direct)),
    throughputRatio: round(median(runs.proxied.map((p, i) => rps(p) / rps(runs.direct[i]))), 3),
    proxyP50Ms: round(percentile(proxied, 50), 2),
    proxyP99Ms: round(percentile(proxied, 99), 2),
    directP50Ms: round(percentile(direct, 50), 2),
    directP99Ms: round(percentile(direct, 99), 2),
    addedP99Ms: round(median(runs.proxied.map((p, i) => percentile(p.latenciesMs, 99) - percentile(runs.direct[i].latenciesMs, 99))), 2),
    failed: [...runs.direct, ...runs.proxied].reduce((n, s) => n + s.failed, 0),
    failures: causes(runs),
    ...(Number.isFinite(proxyCpuMs) && { proxyCpuUsPerRequest: round((proxyCpuMs * 1000) / proxied.length, 1) }),
    loadAverage: [round(loadBefore, 2), round(os.loadavg()[0], 2)],
  };
}

function causes(runs: Record<'direct' | 'proxied', LoadSample[]>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [which, samples] of Object.entries(runs)) for (const s of samples) for (const [cause, n] of Object.entries(s.failures)) out[`${which} ${cause}`] = (out[`${which} ${cause}`] ?? 0) + n;
  return out;
}

/** One line for the log: `label: proxy R req/s (p50, p99) vs direct R req/s (p50, p99): ratio×, +N ms p99 (load a→b)`. */
export function describe(label: string, c: Comparison): string {
  return (
    `${label}: proxy ${c.proxyRps} req/s (p50 ${c.proxyP50Ms}, p99 ${c.proxyP99Ms} ms) vs direct ${c.directRps} req/s (p50 ${c.directP50Ms}, p99 ${c.directP99Ms} ms): ` +
    `${c.throughputRatio}× throughput, ${c.addedP99Ms >= 0 ? '+' : ''}${c.addedP99Ms} ms p99 (medians of rounds; load average ${c.loadAverage[0]}→${c.loadAverage[1]})` +
    (c.proxyCpuUsPerRequest !== undefined ? `; proxy CPU ${c.proxyCpuUsPerRequest} µs per request` : '') +
    (c.failed ? `; failed: ${JSON.stringify(c.failures)}` : '')
  );
}
