/**
 * The storage seam of the API server: a revision log of JSON objects addressed by key.
 *
 * Modelled on k8s.io/apiserver `storage.Interface`. One monotonic integer revision is shared by every key in a
 * backend; it is what clients see as `metadata.resourceVersion` (decimal string). Every write appends a revision.
 * Backends: SQLite (embedded default) and etcd v3. Both must pass test/conformance/storage.ts.
 *
 * Keys look like `/registry/<group>/<resource>/<namespace>/<name>` (cluster-scoped: no namespace segment).
 * Backends treat them as opaque strings; `list` and `watch` take a prefix that ends in `/`.
 */

/** A stored Kubernetes-shaped object. The storage layer owns `metadata.resourceVersion`. */
export interface StoredObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; namespace?: string; resourceVersion?: string; uid?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export type StorageErrorCode =
  | 'NotFound' // key does not exist
  | 'AlreadyExists' // create on an existing key
  | 'Conflict' // precondition (resourceVersion / uid) did not hold
  | 'Gone' // the requested revision was compacted away (HTTP 410)
  | 'TooLargeResourceVersion' // a read asked for a revision newer than the store has
  | 'Invalid' // the backend could not decode what it holds, or was handed an object it cannot store (a server bug: 500)
  | 'BadRequest' // the client's own input is malformed, e.g. a garbled or foreign continue token (HTTP 400)
  | 'Unavailable'; // the backend cannot be reached

export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    readonly key: string,
    message: string,
    readonly revision?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof StorageError && e.code === 'NotFound';
export const isConflict = (e: unknown): boolean => e instanceof StorageError && e.code === 'Conflict';

export interface Preconditions {
  /** The write applies only if the object's current resourceVersion equals this. */
  readonly resourceVersion?: string;
  /** The write applies only if the object's current metadata.uid equals this. */
  readonly uid?: string;
}

export interface ListOptions {
  /** At most this many items; the result then carries `continue` if more remain. 0/undefined = all. */
  readonly limit?: number;
  /** The opaque token of a previous page; later pages are read at the first page's revision (Gone if compacted). */
  readonly continue?: string;
  /** Optional filter applied before `limit` counting, so pages are full. */
  readonly predicate?: (obj: StoredObject) => boolean;
  /**
   * Read the state at exactly this revision (Kubernetes `resourceVersionMatch=Exact`) instead of the newest: Gone if
   * compacted, TooLargeResourceVersion if newer than the store. Ignored with `continue` (the token names its revision).
   */
  readonly revision?: number;
}

export interface ListResult {
  readonly items: StoredObject[];
  /** The revision the list is consistent at. */
  readonly revision: number;
  /** Present when `limit` cut the list; pass back as `continue`. */
  readonly continue?: string;
  /** With a limit: how many matching items remain after this page, when cheaply known. */
  readonly remainingItemCount?: number;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent {
  readonly type: WatchEventType;
  /** The storage key of the object. Berth's backends always set it (the watch cache fans out by it). */
  readonly key?: string;
  /** For DELETED: the last state, with resourceVersion set to the deletion's revision. */
  readonly object: StoredObject;
  /** Previous state (MODIFIED/DELETED), so a watcher filtering by predicate can turn a MODIFIED into ADDED/DELETED. */
  readonly prevObject?: StoredObject;
  readonly revision: number;
  /**
   * The stored JSON the objects were decoded from, when the backend has it: the watch cache keeps recent events as
   * this text rather than as object trees, and decodes them again to replay them. A wrapper that changes `object`
   * (decryption) must drop it.
   */
  readonly stored?: StoredEventText;
}

/** See WatchEvent.stored. */
export interface StoredEventText {
  /** The text of `object` (for DELETED: of the last state). */
  readonly object: string;
  /** The text and revision of `prevObject`, when the event has one. */
  readonly prev?: { readonly text: string; readonly revision: number };
}

export interface Watcher {
  /** Stops delivery; idempotent. No events are delivered after it resolves. */
  stop(): void;
  /**
   * The revision through which this watcher has been handed every matching event (non-matching ones skipped), even
   * when nothing matched for a while: the resourceVersion to put in a BOOKMARK. Berth's backends and cache provide it.
   */
  progress?(): number;
}

export interface WatchOptions {
  /** Deliver every event with revision > fromRevision. 0 = start from now (no replay). Gone if compacted. */
  readonly fromRevision: number;
  /**
   * Receives events in revision order, each once. Objects are shared between watchers: treat them as read-only.
   * Returning a promise pauses delivery to this watcher until it settles (backpressure); a watcher that falls too far
   * behind (a backend-specific bound) is ended with `onError` code Unavailable rather than buffered without limit.
   */
  readonly onEvent: (event: WatchEvent) => void | Promise<void>;
  /** Called once if the watch can no longer continue (backend lost, watcher too slow); no events follow. */
  readonly onError?: (err: StorageError) => void;
}

/** Returns the new state, or throws to abort the update (the error propagates to the caller unchanged). */
export type TryUpdate = (current: StoredObject) => StoredObject | Promise<StoredObject>;

export interface Storage {
  /** Stores a new key. AlreadyExists if present. Returns the object with resourceVersion set. */
  create(key: string, obj: StoredObject): Promise<StoredObject>;

  /** The current object. NotFound if absent. */
  get(key: string): Promise<StoredObject>;

  /** Every object whose key starts with `prefix`, in key order, consistent at one revision. */
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;

  /**
   * Reads the current object, applies `tryUpdate`, and writes the result with compare-and-swap on the
   * revision it read, retrying on a lost race (the only conflict-retry loop in Berth). `preconditions` are checked
   * against every state read: if they fail, Conflict (without calling tryUpdate). NotFound if the key is absent.
   * If tryUpdate returns an object deep-equal to the current one, nothing is written and the current object returns.
   */
  guaranteedUpdate(key: string, tryUpdate: TryUpdate, preconditions?: Preconditions): Promise<StoredObject>;

  /** Removes the key (subject to preconditions: Conflict). NotFound if absent. Returns the last state with the deletion's resourceVersion. */
  delete(key: string, preconditions?: Preconditions): Promise<StoredObject>;

  /** Streams events for keys under `prefix` (or the exact key, if it does not end in `/`). Gone if fromRevision was compacted. */
  watch(prefix: string, opts: WatchOptions): Promise<Watcher>;

  /** The newest revision in the store. */
  currentRevision(): Promise<number>;

  /** Forgets history at or below `revision`: later watches/continues from there get Gone. */
  compact(revision: number): Promise<void>;

  /** Releases connections/files. Pending operations may fail with Unavailable. */
  close(): Promise<void>;
}
