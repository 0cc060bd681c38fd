/**
 * The proxy thread: every published port's data path runs here, on its own event loop, so that the agent's
 * control-plane work (informers, container starts, synchronous native calls, garbage collection of a large heap)
 * never delays a forwarded byte. Counts and outcomes go back to the agent's thread in batches.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { parentPort } from 'node:worker_threads';
import { ProxyListener } from './listener';
import type { FromProxyThread, Outcome, ToProxyThread } from './messages';

/** How long outcomes and counts may wait before they are sent: few wake-ups of the agent's thread, fresh enough for canary analysis. */
const REPORT_MS = 250;
/** How long a count of an endpoint outside the rotation (being drained) may wait: bounds how late a drain is seen. */
const DRAIN_REPORT_MS = 10;
/** The data path wakes up ahead of the node's batch work (best effort: needs CAP_SYS_NICE). */
const THREAD_NICE = -10;

interface Entry {
  readonly listener: ProxyListener;
  version: number;
  outcomes: Outcome[];
  timer?: NodeJS.Timeout;
  /** When the pending report is sent. */
  due: number;
}

const port = parentPort!;
const entries = new Map<number, Entry>();
const send = (m: FromProxyThread) => port.postMessage(m);

function report(id: number, entry: Entry): void {
  clearTimeout(entry.timer);
  entry.timer = undefined;
  send({ type: 'report', proxy: id, version: entry.version, open: [...entry.listener.open], outcomes: entry.outcomes });
  entry.outcomes = [];
}

function create(id: number, options: ConstructorParameters<typeof ProxyListener>[0]): void {
  const later = (ms: number) => {
    if (entry.timer && entry.due <= Date.now() + ms) return;
    clearTimeout(entry.timer);
    entry.due = Date.now() + ms;
    entry.timer = setTimeout(() => report(id, entry), ms);
  };
  const entry: Entry = {
    listener: new ProxyListener(options, {
      record: (group, ok, latencyMs) => {
        entry.outcomes.push([group, ok, latencyMs ?? NaN]);
        later(REPORT_MS);
      },
      openChanged: (endpointId) => later(entry.listener.inRotation(endpointId) ? REPORT_MS : DRAIN_REPORT_MS),
    }),
    due: 0,
    version: 0,
    outcomes: [],
  };
  entries.set(id, entry);
}

port.on('message', (m: ToProxyThread) => {
  if (m.type === 'create') return create(m.proxy, m.options);
  const entry = entries.get(m.proxy);
  if (!entry) return m.type === 'sync' ? send({ type: 'synced', proxy: m.proxy, seq: m.seq }) : undefined; // closed already
  switch (m.type) {
    case 'listen':
      entry.listener.listen().then(
        (p) => send({ type: 'listening', proxy: m.proxy, port: p }),
        (err: Error) => send({ type: 'listenFailed', proxy: m.proxy, message: err.message }),
      );
      break;
    case 'endpoints':
      entry.listener.setEndpoints(m.endpoints);
      entry.version = m.version;
      report(m.proxy, entry); // at once: a drain waits for this acknowledgement
      break;
    case 'sync':
      report(m.proxy, entry);
      send({ type: 'synced', proxy: m.proxy, seq: m.seq });
      break;
    case 'close':
      entries.delete(m.proxy);
      clearTimeout(entry.timer);
      void entry.listener.close().then(() => send({ type: 'closed', proxy: m.proxy }));
      break;
  }
});

try {
  const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
  os.setPriority(tid, THREAD_NICE);
} catch {
  // not permitted (no CAP_SYS_NICE) or not Linux: the thread runs at the process's priority
}
