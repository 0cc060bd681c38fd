/**
 * The line protocol between the agent and berth-proxy (native/src/relay.c has the grammar): commands are built
 * here, answers and reports parsed here. Endpoint ids and revision groups travel as tokens: `_` then the UTF-8
 * bytes, those outside [A-Za-z0-9._-] as %XX, so they never hold a space or the report's punctuation (`=,+!`).
 */
import { isIP } from 'node:net';
import * as os from 'node:os';
import type { Endpoint, ServiceProxyOptions } from './proxy';

/** A request outcome: revision group, ok, latency in ms (undefined when not timed). */
export type Outcome = readonly [string, boolean, number | undefined];

export type FromRelay =
  | { readonly type: 'listening'; readonly proxy: number; readonly port: number }
  | { readonly type: 'listenFailed'; readonly proxy: number; readonly code: string }
  | {
      readonly type: 'report';
      readonly proxy: number;
      /** The last rotation version applied. */
      readonly version: number;
      /** Open connections per endpoint id (ids with none left out). */
      readonly open: ReadonlyArray<readonly [string, number]>;
      readonly outcomes: readonly Outcome[];
    }
  | { readonly type: 'closed'; readonly proxy: number }
  | { readonly type: 'synced'; readonly proxy: number; readonly seq: number };

const SAFE = /^[A-Za-z0-9._-]$/;

export function encodeToken(s: string): string {
  let out = '_';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    out += SAFE.test(c) ? c : `%${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

export const decodeToken = (token: string): string => decodeURIComponent(token.slice(1));

/** Whether berth-proxy can take the endpoint (an IP address, a port, a weight): anything else would end it. */
export const isRelayable = (e: Endpoint): boolean => isIP(e.host) !== 0 && Number.isInteger(e.port) && e.port > 0 && e.port < 65536 && Number.isFinite(e.weight) && e.weight >= 0;

const wholeMs = (ms: number): number => (Number.isFinite(ms) ? Math.max(0, Math.round(ms)) : 0);

export const commands = {
  create: (proxy: number, o: ServiceProxyOptions) => `N ${proxy} ${o.httpAware ? 1 : 0} ${wholeMs(o.connectTimeoutMs ?? 1000)} ${wholeMs(o.endpointWaitMs ?? 2000)}`,
  listen: (proxy: number, host: string, port: number) => `L ${proxy} ${host} ${port}`,
  endpoints: (proxy: number, version: number, endpoints: readonly Endpoint[]) =>
    [`E ${proxy} ${version}`, ...endpoints.map((e) => `${encodeToken(e.id)} ${encodeToken(e.group)} ${e.weight} ${e.host} ${e.port}`)].join(' '),
  sync: (proxy: number, seq: number) => `S ${proxy} ${seq}`,
  close: (proxy: number) => `C ${proxy}`,
};

const ERRNO_NAMES = new Map(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));

/** One line from berth-proxy; throws on anything it would never send. */
export function parseLine(line: string): FromRelay {
  const [type, id, a, b, c] = line.split(' ');
  const proxy = Number(id);
  switch (type) {
    case 'l':
      return { type: 'listening', proxy, port: Number(a) };
    case 'f':
      return { type: 'listenFailed', proxy, code: ERRNO_NAMES.get(Number(a)) ?? `errno ${a}` };
    case 'r':
      return { type: 'report', proxy, version: Number(a), open: b === '-' ? [] : b.split(',').map(parseOpen), outcomes: c === '-' ? [] : parseOutcomes(c) };
    case 'c':
      return { type: 'closed', proxy };
    case 's':
      return { type: 'synced', proxy, seq: Number(a) };
    default:
      throw new Error(`berth-proxy sent an unknown line: ${line.slice(0, 200)}`);
  }
}

function parseOpen(entry: string): readonly [string, number] {
  const at = entry.lastIndexOf('=');
  return [decodeToken(entry.slice(0, at)), Number(entry.slice(at + 1))];
}

/** `GROUP+LATENCY`, `GROUP!LATENCY` or `GROUP!`, comma-separated; LATENCY in hundredths of a millisecond. */
function parseOutcomes(text: string): Outcome[] {
  const groups = new Map<string, string>(); // a batch names few groups, many times
  return text.split(',').map((entry) => {
    const at = entry.search(/[+!]/);
    const token = entry.slice(0, at);
    let group = groups.get(token);
    if (group === undefined) groups.set(token, (group = decodeToken(token)));
    return [group, entry[at] === '+', at + 1 < entry.length ? Number(entry.slice(at + 1)) / 100 : undefined];
  });
}
