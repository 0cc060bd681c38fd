/**
 * listAndWatch: a list, then a watch from the list's resourceVersion that survives its stream ending — it resumes
 * from the last resourceVersion seen (bookmarks included), backing off while the server is unreachable, and lists
 * again when that resourceVersion has been compacted (410). What a controller or operator needs to follow a kind.
 */
import type { ApiClient, WatchOptions } from './client';
import { WatchExpiredError } from './errors';
import type { KubeObject, ResourceRef } from './types';

export interface ReflectorHandlers<T extends KubeObject> {
  /** The full state after each (re)list: replace what you hold with it. */
  onSync(items: T[]): void;
  onEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T): void;
  /** A failure that will be retried (for logs). */
  onError?(err: Error): void;
}

export interface ReflectorOptions extends Omit<WatchOptions, 'resourceVersion' | 'allowWatchBookmarks'> {
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Injected for tests; defaults to setTimeout. */
  readonly delay?: (ms: number) => Promise<void>;
}

export interface Reflector {
  /** Resolves after the first successful list. */
  readonly synced: Promise<void>;
  stop(): void;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

export const listAndWatch = <T extends KubeObject>(client: ApiClient, ref: ResourceRef, opts: ReflectorOptions, handlers: ReflectorHandlers<T>): Reflector => {
  const delay = opts.delay ?? sleep;
  const minBackoff = opts.minBackoffMs ?? 500;
  const maxBackoff = opts.maxBackoffMs ?? 30_000;
  let stopped = false;
  let current: { stop(): void } | undefined;
  let markSynced: () => void = () => undefined;
  const synced = new Promise<void>((resolve) => (markSynced = resolve));

  const list = async (): Promise<string> => {
    const result = await client.list<T>(ref, { namespace: opts.namespace, labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector });
    handlers.onSync(result.items);
    markSynced();
    return result.metadata.resourceVersion ?? '';
  };

  /** Watches until the stream ends; resolves with the last resourceVersion seen, rejects with why it ended. */
  const watchFrom = (resourceVersion: string): Promise<string> =>
    new Promise((resolve, reject) => {
      let last = resourceVersion;
      client
        .watch<T>(ref, { ...opts, resourceVersion, allowWatchBookmarks: true }, (type, obj) => {
          last = obj.metadata.resourceVersion ?? last;
          if (type !== 'BOOKMARK') handlers.onEvent(type, obj);
        }, (err) => (err ? reject(Object.assign(err, { lastResourceVersion: last })) : resolve(last)))
        .then((handle) => {
          current = handle;
          if (stopped) handle.stop();
        }, reject);
    });

  const run = async (): Promise<void> => {
    let resourceVersion: string | undefined;
    let backoff = minBackoff;
    while (!stopped) {
      try {
        resourceVersion ??= await list();
        resourceVersion = await watchFrom(resourceVersion);
        backoff = minBackoff;
      } catch (err) {
        if (stopped) return;
        if (err instanceof WatchExpiredError) {
          resourceVersion = undefined;
          continue;
        }
        resourceVersion = (err as { lastResourceVersion?: string }).lastResourceVersion ?? resourceVersion;
        handlers.onError?.(err as Error);
        await delay(backoff);
        backoff = Math.min(maxBackoff, backoff * 2);
      }
    }
  };
  void run();
  return {
    synced,
    stop: () => {
      stopped = true;
      current?.stop();
    },
  };
};
