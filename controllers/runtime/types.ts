/**
 * The seams of the controller runtime. Controllers, the node agent and third-party operators build on these;
 * the implementations talk to the API server over HTTP through `client/` (never through api/ internals).
 */

import type { KubeObject } from '../../client';

export type { KubeObject };

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface ListResult<T extends KubeObject> {
  readonly items: T[];
  readonly resourceVersion: string;
}

export interface WatchHandle {
  /** Ends the stream; `onClose` is not called after stop(). */
  stop(): void;
}

/** One resource type, listable and watchable (a namespace or all namespaces, optionally filtered by selectors). */
export interface ListWatcher<T extends KubeObject> {
  list(): Promise<ListResult<T>>;
  /**
   * Streams events after `resourceVersion`. `onClose` is called once when the stream ends for any reason
   * other than stop(): with the client's WatchExpiredError on 410, another error on failure, nothing on a clean end.
   */
  watch(
    resourceVersion: string,
    onEvent: (type: WatchEventType, obj: T) => void,
    onClose: (err?: Error) => void,
  ): Promise<WatchHandle>;
}

/** What a reconcile asks of the queue. */
export interface Result {
  /** Reconcile this key again after this many milliseconds (periodic work, waiting on time). */
  readonly requeueAfter?: number;
}

/** An error that retrying cannot fix (invalid spec...): logged, not requeued. */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export type Reconciler = (key: string) => Promise<Result | void>;

/** Injected time so tests run without real timers (client-node's delayFn). */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};

/** `namespace/name`, or `name` for cluster-scoped objects — the workqueue key. */
export function keyOf(obj: { metadata: { name?: string; namespace?: string } }): string {
  const name = obj.metadata.name ?? '';
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${name}` : name;
}

export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
