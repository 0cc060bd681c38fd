/**
 * The distributed backend: etcd v3, spoken to directly over gRPC (etcd-rpc.ts, etcd-watch.ts on grpc.ts). etcd's own
 * revision is the resourceVersion; creates, updates and deletes are transactions comparing `mod_revision` (0 = absent)
 * so racing API servers cannot lose writes; lists read at one revision (`revision` on the range) so continue pages
 * are consistent; watches are etcd watches from a start revision. Objects are encoded exactly as the SQLite backend
 * encodes them (codec.ts).
 */
import { AutoCompaction, scheduleCompaction } from './compaction';
import {
  checkPreconditions,
  decodeContinue,
  decodeEvent,
  decodeObject,
  encodeContinue,
  encodeObject,
  isPrefix,
  isSameEncoding,
  prefixEnd,
  writtenObject,
} from './codec';
import { EtcdKv, KeyValue, RangeRequest, RangeResponse, RequestOp, TxnResponse } from './etcd-rpc';
import { EtcdEvent, EtcdWatch } from './etcd-watch';
import { GrpcConnection } from './grpc';
import {
  ListOptions,
  ListResult,
  Preconditions,
  Storage,
  StorageError,
  StoredObject,
  TryUpdate,
  WatchEvent,
  Watcher,
  WatchOptions,
} from './types';
import { WatchChannel } from './watch-channel';

export interface EtcdStorageOptions {
  /** Client URLs, e.g. `http://127.0.0.1:2379`. */
  readonly endpoints: string[];
  /** Prepended to every key, so several clusters (or tests) can share one etcd. Default ''. */
  readonly prefix?: string;
  /** Compact periodically from this client; off when absent (etcd's --auto-compaction-* works too). */
  readonly compaction?: AutoCompaction;
  /** Pending events per watcher before it is ended with Unavailable. Default 10,000. */
  readonly watchCapacity?: number;
}

/** Unlimited lists are read in batches so no single gRPC response grows without bound. */
const LIST_BATCH = 1000;

export class EtcdStorage implements Storage {
  private readonly connection: GrpcConnection;
  private readonly kv: EtcdKv;
  private readonly prefix: string;
  private readonly watchCapacity: number;
  private readonly channels = new Set<WatchChannel>();
  private readonly stopCompaction?: () => void;
  private closed = false;

  constructor(private readonly options: EtcdStorageOptions) {
    this.prefix = options.prefix ?? '';
    this.watchCapacity = options.watchCapacity ?? 10_000;
    this.connection = new GrpcConnection(options.endpoints);
    this.kv = new EtcdKv(this.connection);
    if (options.compaction) this.stopCompaction = scheduleCompaction(this, options.compaction);
  }

  async create(key: string, obj: StoredObject): Promise<StoredObject> {
    const text = encodeObject(key, obj);
    // No read in the failure branch: a create rarely finds its key taken, and a smaller txn is cheaper on both ends.
    const res = await this.txn(key, 0, { put: { key: this.etcdKey(key), value: Buffer.from(text) } }, false);
    if (!res.succeeded) {
      const { kv } = await this.read(key).catch(() => ({ kv: undefined }));
      throw new StorageError('AlreadyExists', key, `${key} already exists`, kv?.modRevision);
    }
    return writtenObject(obj, res.revision);
  }

  async get(key: string): Promise<StoredObject> {
    const { kv, revision } = await this.read(key);
    if (!kv) throw new StorageError('NotFound', key, `${key} not found`, revision);
    return decodeObject(key, kv.value, kv.modRevision);
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    const token = opts.continue ? decodeContinue(prefix, opts.continue) : undefined;
    const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
    const end = this.etcdKey(prefixEnd(prefix));
    let revision = token?.revision ?? opts.revision ?? 0; // 0: the first batch fixes the revision for the rest
    let from = token ? this.etcdKey(token.lastKey + '\0') : this.etcdKey(prefix);
    const items: StoredObject[] = [];
    let lastKey = '';
    for (;;) {
      // One more than the page needs tells whether a continue token is due; a predicate may skip any number.
      const batch = Number.isFinite(limit) && !opts.predicate ? Math.min(limit - items.length + 1, LIST_BATCH) : LIST_BATCH;
      const res = await this.range(prefix, { key: from, rangeEnd: end, limit: batch, revision: revision || undefined });
      revision ||= res.revision;
      for (const kv of res.kvs) {
        const key = this.storageKey(kv);
        const obj = decodeObject(key, kv.value, kv.modRevision);
        if (opts.predicate && !opts.predicate(obj)) continue;
        if (items.length === limit) return { items, revision, continue: encodeContinue({ revision, lastKey }) };
        items.push(obj);
        lastKey = key;
      }
      if (!res.more || res.kvs.length === 0) return { items, revision };
      from = Buffer.from(`${res.kvs[res.kvs.length - 1].key}\0`);
    }
  }

  async guaranteedUpdate(key: string, tryUpdate: TryUpdate, preconditions?: Preconditions): Promise<StoredObject> {
    let { kv, revision } = await this.read(key);
    for (;;) {
      if (!kv) throw new StorageError('NotFound', key, `${key} not found`, revision);
      const storedText = kv.value;
      const current = decodeObject(key, storedText, kv.modRevision);
      checkPreconditions(key, current, preconditions);
      const next = await tryUpdate(current);
      const text = encodeObject(key, next);
      if (isSameEncoding(storedText, text)) return current;
      const res = await this.txn(key, kv.modRevision, { put: { key: this.etcdKey(key), value: Buffer.from(text) } });
      if (res.succeeded) return writtenObject(next, res.revision);
      // Lost the race: the failure branch read the winner's state; try again on it.
      kv = res.responses[0]?.range?.kvs[0];
      revision = res.revision;
    }
  }

  async delete(key: string, preconditions?: Preconditions): Promise<StoredObject> {
    let { kv, revision } = await this.read(key);
    for (;;) {
      if (!kv) throw new StorageError('NotFound', key, `${key} not found`, revision);
      const text = kv.value;
      checkPreconditions(key, decodeObject(key, text, kv.modRevision), preconditions);
      const res = await this.txn(key, kv.modRevision, { deleteRange: { key: this.etcdKey(key) } });
      if (res.succeeded) return decodeObject(key, text, res.revision);
      kv = res.responses[0]?.range?.kvs[0];
      revision = res.revision;
    }
  }

  async watch(prefix: string, opts: WatchOptions): Promise<Watcher> {
    this.assertOpen(prefix);
    // "From now" is made explicit so no write between this call and etcd registering the watch is missed.
    const from = opts.fromRevision > 0 ? opts.fromRevision : await this.currentRevision();
    if (opts.fromRevision > 0) await this.assertNotCompacted(prefix, from);
    let etcdWatch: EtcdWatch | undefined;
    const channel = new WatchChannel(prefix, { ...opts, fromRevision: from }, {
      capacity: this.watchCapacity,
      revision: () => 0, // known only through the events themselves
      onEnd: (c) => {
        this.channels.delete(c);
        etcdWatch?.stop();
      },
    });
    const spec = isPrefix(prefix)
      ? { key: this.etcdKey(prefix), rangeEnd: this.etcdKey(prefixEnd(prefix)), prevKv: true }
      : { key: this.etcdKey(prefix), prevKv: true };
    etcdWatch = new EtcdWatch(this.connection, spec, {
      onEvents: (events) => this.deliver(channel, events),
      onCanceled: (reason, compactRevision) =>
        compactRevision > 0
          ? channel.fail(this.compacted(prefix, channel.progress(), compactRevision))
          : void this.failWatch(channel, new Error(`etcd canceled the watch on ${prefix}${reason ? `: ${reason}` : ''}`)),
      // A stream lost with its connection continues after the last event this channel received.
      resumeRevision: () => channel.progress() + 1,
    });
    this.channels.add(channel);
    try {
      await etcdWatch.start(from + 1);
    } catch (err) {
      channel.stop(); // the caller learns of the failure from the rejection, not from onError
      throw this.toStorageError(prefix, err);
    }
    return channel;
  }

  /** A response's events into the channel; one etcd cannot be decoded fails the watch (never the process). */
  private deliver(channel: WatchChannel, events: EtcdEvent[]): void {
    try {
      for (const { type, kv, prevKv } of events) channel.push(type === 'put' ? this.putEvent(kv, prevKv) : this.deleteEvent(kv, prevKv));
    } catch (err) {
      channel.fail(this.toStorageError(channel.prefix, err));
    }
  }

  private compacted(prefix: string, revision: number, compactRevision: number): StorageError {
    return new StorageError('Gone', prefix, `etcd ${prefix}: revision ${revision + 1} was compacted (compacted through ${compactRevision})`, compactRevision);
  }

  /**
   * etcd cancels a watch whose next revision was compacted (with an empty reason, in 3.4): find out whether that is
   * why, so the client gets Gone and relists rather than retrying forever.
   */
  private async failWatch(channel: WatchChannel, err: unknown): Promise<void> {
    const compacted = await this.assertNotCompacted(channel.prefix, channel.progress()).then(
      () => undefined,
      (e: unknown) => (e instanceof StorageError && e.code === 'Gone' ? e : undefined),
    );
    channel.fail(compacted ?? this.toStorageError(channel.prefix, err));
  }

  async currentRevision(): Promise<number> {
    const res = await this.range('', { key: this.etcdKey('/'), countOnly: true });
    return res.revision;
  }

  async compact(revision: number): Promise<void> {
    try {
      this.assertOpen('');
      await this.kv.compact(revision);
    } catch (err) {
      const e = this.toStorageError('', err);
      if (e.code === 'Gone') return; // already compacted at or past it
      throw e;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopCompaction?.();
    for (const channel of [...this.channels]) {
      channel.fail(new StorageError('Unavailable', channel.prefix, `etcd client for ${this.options.endpoints.join(',')} closed`));
    }
    this.connection.close();
  }

  private etcdKey(key: string): Buffer {
    return Buffer.from(this.prefix + key);
  }

  private storageKey(kv: KeyValue): string {
    return kv.key.slice(this.prefix.length);
  }

  private async read(key: string): Promise<{ kv?: KeyValue; revision: number }> {
    const res = await this.range(key, { key: this.etcdKey(key) });
    return { kv: res.kvs[0], revision: res.revision };
  }

  /**
   * Runs `op` only if the key's mod_revision is `modRevision` (0: the key is absent); otherwise reads the key
   * (the failure response's first range) unless `readOnFailure` is false.
   */
  private async txn(key: string, modRevision: number, op: RequestOp, readOnFailure = true): Promise<TxnResponse> {
    this.assertOpen(key);
    const etcdKey = this.etcdKey(key);
    try {
      return await this.kv.txn({
        compare: { key: etcdKey, modRevision },
        success: [op],
        failure: readOnFailure ? [{ range: { key: etcdKey } }] : [],
      });
    } catch (err) {
      throw this.toStorageError(key, err);
    }
  }

  private async range(key: string, req: RangeRequest): Promise<RangeResponse> {
    this.assertOpen(key);
    try {
      return await this.kv.range(req);
    } catch (err) {
      throw this.toStorageError(key, err);
    }
  }

  /** A read at `revision` fails exactly when it was compacted, which is the watch's Gone condition too. */
  private async assertNotCompacted(prefix: string, revision: number): Promise<void> {
    try {
      await this.range(prefix, { key: this.etcdKey(prefix), revision, countOnly: true });
    } catch (err) {
      if ((err as StorageError).code !== 'TooLargeResourceVersion') throw err; // a future revision is fine to watch
    }
  }

  private putEvent(kv: KeyValue, prev: KeyValue | undefined): WatchEvent {
    const type = kv.createRevision === kv.modRevision ? 'ADDED' : 'MODIFIED';
    const stored = type === 'ADDED' || !prev ? { object: kv.value } : { object: kv.value, prev: { text: prev.value, revision: prev.modRevision } };
    return decodeEvent(type, this.storageKey(kv), kv.modRevision, stored);
  }

  private deleteEvent(kv: KeyValue, prev: KeyValue | undefined): WatchEvent {
    const key = this.storageKey(kv);
    const revision = kv.modRevision;
    if (!prev) throw new StorageError('Invalid', key, `etcd sent a deletion of ${key} at ${revision} without its last state`, revision);
    return decodeEvent('DELETED', key, revision, { object: prev.value, prev: { text: prev.value, revision: prev.modRevision } });
  }

  private toStorageError(key: string, err: unknown): StorageError {
    if (err instanceof StorageError) return err;
    const message = (err as Error)?.message ?? String(err);
    const code = /compacted/.test(message)
      ? 'Gone'
      : /future revision/.test(message)
        ? 'TooLargeResourceVersion'
        : 'Unavailable';
    return new StorageError(code, key, `etcd ${key}: ${message}`, undefined, { cause: err });
  }

  private assertOpen(key: string): void {
    if (this.closed) throw new StorageError('Unavailable', key, `etcd client for ${this.options.endpoints.join(',')} is closed`);
  }
}
