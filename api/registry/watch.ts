/**
 * `?watch=1`: a chunked stream of `{"type":..,"object":..}` lines. Headers are flushed at once (kubectl wait needs
 * them before the first event). No resourceVersion (or "0") replays the current state as ADDED first; a compacted
 * resourceVersion yields an ERROR event carrying a 410 `Expired` Status. Bookmarks are sent when asked for.
 */
import type { Request, Response } from 'express';
import type { ResourceInfo } from '../schema';
import { StorageError, type Storage, type StoredObject, type WatchEvent, type Watcher } from '../storage';
import { ApiError, badRequest, gone } from '../server/errors';
import { keyFor, prefixFor } from './keys';
import type { Predicate } from './selectors';
import { toApiError } from './storage-errors';

export interface WatchRequest {
  readonly info: ResourceInfo;
  readonly namespace?: string;
  /** Watch one object (GET .../name?watch=1). */
  readonly name?: string;
  readonly predicate?: Predicate;
  readonly resourceVersion?: string;
  readonly allowBookmarks: boolean;
  readonly sendInitialEvents?: boolean;
  readonly timeoutSeconds?: number;
  /** Renders each object for the wire (e.g. as a one-row Table). */
  readonly render?: (obj: StoredObject) => unknown;
  readonly bookmarkIntervalMs?: number;
}

export interface WatchHooks {
  readonly onOpen?: () => void;
  readonly onClose?: () => void;
}

const DEFAULT_BOOKMARK_INTERVAL_MS = 10_000;

/** Which event (if any) a filtered watcher sees for a storage event. */
const filterEvent = (event: WatchEvent, predicate: Predicate | undefined): { type: string; object: StoredObject } | undefined => {
  if (!predicate) return event;
  const now = predicate(event.object);
  if (event.type !== 'MODIFIED') return now ? event : undefined;
  const before = event.prevObject ? predicate(event.prevObject) : false;
  if (now && before) return event;
  if (now) return { type: 'ADDED', object: event.object };
  if (before) return { type: 'DELETED', object: event.object };
  return undefined;
};

const serializedCache = new WeakMap<StoredObject, Map<string, string>>();

/** `{"type":..,"object":..}\n`, memoised per shared object and event type (1,000 watchers, one JSON.stringify). */
const serializedEvent = (type: string, obj: StoredObject): string => {
  let byType = serializedCache.get(obj);
  if (!byType) serializedCache.set(obj, (byType = new Map()));
  let line = byType.get(type);
  if (line === undefined) byType.set(type, (line = `${JSON.stringify({ type, object: obj })}\n`));
  return line;
};

const parseResourceVersion = (rv: string | undefined): number | undefined => {
  if (rv === undefined || rv === '' || rv === '0') return undefined;
  if (!/^[0-9]+$/.test(rv)) throw badRequest(`invalid resource version "${rv}"`);
  return Number(rv);
};

export const serveWatch = async (storage: Storage, req: Request, res: Response, w: WatchRequest, hooks: WatchHooks = {}): Promise<void> => {
  const from = parseResourceVersion(w.resourceVersion);
  const subject = { group: w.info.group, plural: w.info.plural, name: w.name };
  const prefix = w.name ? keyFor(w.info, w.namespace, w.name) : prefixFor(w.info, w.namespace);
  const initial = from === undefined || w.sendInitialEvents === true;

  // Read the initial state before committing to a 200, so storage errors still get their own status code.
  let lastRevision = from ?? 0;
  let initialItems: StoredObject[] = [];
  if (initial) {
    try {
      if (w.name) {
        const obj = await storage.get(prefix).catch((err: unknown) => (err instanceof StorageError && err.code === 'NotFound' ? undefined : Promise.reject(err)));
        initialItems = obj && (!w.predicate || w.predicate(obj)) ? [obj] : [];
        lastRevision = Math.max(lastRevision, await storage.currentRevision());
      } else {
        const list = await storage.list(prefix, { predicate: w.predicate });
        initialItems = list.items;
        lastRevision = Math.max(lastRevision, list.revision);
      }
    } catch (err) {
      throw toApiError(err, subject);
    }
  }

  res.status(200);
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Cache-Control', 'no-cache, private');
  res.flushHeaders();
  hooks.onOpen?.();

  let closed = false;
  let watcher: Watcher | undefined;
  const send = (type: string, object: unknown): boolean => (closed ? true : res.write(`${JSON.stringify({ type, object })}\n`));
  /** One event line; objects are shared by all watchers, so without a renderer the line is serialised once for all. */
  const sendObject = (type: string, obj: StoredObject): boolean => {
    if (closed) return true;
    if (w.render) return send(type, w.render(obj));
    return res.write(serializedEvent(type, obj));
  };
  const bookmark = (annotations?: Record<string, string>): void => {
    lastRevision = Math.max(lastRevision, watcher?.progress?.() ?? 0);
    const metadata: Record<string, unknown> = { resourceVersion: String(lastRevision) };
    if (annotations) metadata.annotations = annotations;
    send('BOOKMARK', { kind: w.info.kind, apiVersion: w.info.apiVersion, metadata });
  };

  if (!(from !== undefined && w.sendInitialEvents === false)) for (const item of initialItems) sendObject('ADDED', item);
  if (w.sendInitialEvents && w.allowBookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });

  const timers: NodeJS.Timeout[] = [];
  const close = (): void => {
    if (closed) return;
    closed = true;
    watcher?.stop();
    for (const t of timers) clearTimeout(t);
    hooks.onClose?.();
    res.end();
  };
  req.on('close', close);
  res.on('close', close);
  if (w.timeoutSeconds && w.timeoutSeconds > 0) timers.push(setTimeout(close, w.timeoutSeconds * 1000));
  if (w.allowBookmarks) {
    const interval = setInterval(() => bookmark(), w.bookmarkIntervalMs ?? DEFAULT_BOOKMARK_INTERVAL_MS);
    timers.push(interval);
  }

  const sendError = (err: ApiError): void => {
    send('ERROR', err.toStatus());
    close();
  };

  try {
    watcher = await storage.watch(prefix, {
      fromRevision: lastRevision,
      onEvent: (event) => {
        if (closed) return;
        lastRevision = event.revision;
        const visible = filterEvent(event, w.predicate);
        if (!visible) return;
        if (!sendObject(visible.type, visible.object)) return new Promise<void>((resolve) => {
          // Whichever comes first removes the other: a kept 'close' listener per slow-down piles up on a long watch.
          const done = (): void => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.once('drain', done);
          res.once('close', done);
        });
        return undefined;
      },
      onError: (err) => sendError(err.code === 'Gone' ? gone(err.message) : (toApiError(err, subject) as ApiError)),
    });
    if (closed) watcher.stop();
  } catch (err) {
    const apiErr = toApiError(err, subject);
    sendError(apiErr instanceof ApiError ? apiErr : gone(String(err)));
  }
};
