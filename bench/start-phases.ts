/**
 * Where a container start spends its time, as the node agent's /metrics reports it
 * (`berth_container_start_phase_seconds{phase}` and `berth_container_start_seconds`): the mean of each phase
 * between two scrapes. Shared by bench:e2e (agent in its own process: scraped over its socket) and bench:services.
 */
import * as http from 'node:http';
import { Registry, type Metric } from 'prom-client';
import { round } from './stats';

/** Sum and count of every `_sum`/`_count` series, keyed by metric name plus labels. */
export type Scrape = Map<string, { sum: number; count: number }>;

export function parseScrape(text: string): Scrape {
  const out: Scrape = new Map();
  for (const line of text.split('\n')) {
    const m = /^(berth_container_start\w*?)_(sum|count)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m) continue;
    const key = `${m[1]}${m[3] ?? ''}`;
    const entry = out.get(key) ?? { sum: 0, count: 0 };
    entry[m[2] as 'sum' | 'count'] = Number(m[4]);
    out.set(key, entry);
  }
  return out;
}

/** The agent endpoint's /metrics over its unix socket. */
export function scrapeSocket(socketPath: string): Promise<Scrape> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath, path: '/metrics' }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(parseScrape(body)));
      })
      .on('error', reject);
  });
}

/** The same scrape of an in-process agent's metrics. */
export async function scrapeMetrics(metrics: readonly Metric[]): Promise<Scrape> {
  const registry = new Registry();
  for (const m of metrics) registry.registerMetric(m);
  return parseScrape(await registry.metrics());
}

/** "phase mean (count)" per series between two scrapes, e.g. `network 12.3 ms`. */
export function describePhases(before: Scrape, after: Scrape): Record<string, number> {
  const means: Record<string, number> = {};
  for (const [key, { sum, count }] of after) {
    const prev = before.get(key) ?? { sum: 0, count: 0 };
    if (count === prev.count) continue;
    const phase = /phase="(\w+)"/.exec(key)?.[1] ?? 'total';
    means[phase] = round(((sum - prev.sum) / (count - prev.count)) * 1000, 1);
  }
  return means;
}

export const formatPhases = (means: Record<string, number>): string =>
  Object.entries(means)
    .map(([phase, ms]) => `${phase} ${ms}`)
    .join(', ');

/** `apiserver_request_total` by "VERB resource" (codes summed), from the API server's /metrics text. */
export function parseRequests(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^apiserver_request_total\{([^}]*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const label = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(m[1])?.[1] ?? '?';
    const key = `${label('verb')} ${label('resource')}`;
    out.set(key, (out.get(key) ?? 0) + Number(m[2]));
  }
  return out;
}

/** Requests per container between two counts, most first: `{ "patch containers": 2, "create events": 2, ... }`. */
export function describeRequests(before: Map<string, number>, after: Map<string, number>, containers: number): Record<string, number> {
  const perContainer: Record<string, number> = {};
  const deltas = [...after].map(([key, n]): [string, number] => [key, (n - (before.get(key) ?? 0)) / containers]);
  for (const [key, d] of deltas.sort((a, b) => b[1] - a[1])) if (d >= 0.05) perContainer[key] = round(d, 2);
  return perContainer;
}
