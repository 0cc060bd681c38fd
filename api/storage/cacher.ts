/**
 * The watch cache (k8s.io/apiserver `cacher` in spirit): one upstream watch of the whole keyspace feeds a ring of
 * recent events and fans each event out to the watchers whose prefix matches it — found through an index, so an
 * event costs O(matching watchers), not O(all watchers). Watches from a revision still in the ring are served from
 * it; older ones go to the backend (which replays them or answers Gone). A watcher that falls too far behind is
 * ended with Unavailable; its client re-watches from its last revision. Reads and writes pass straight through.
 */
import { decodeEvent, isPrefix } from './codec';
import { EventRing } from './event-ring';
import {
  ListOptions,
  ListResult,
  Preconditions,
  Storage,
  StorageError,
  StoredEventText,
  StoredObject,
  TryUpdate,
  WatchEvent,
  WatchEventType,
  Watcher,
  WatchOptions,
} from './types';
import { ChannelOwner, WatchChannel } from './watch-channel';
import { WatcherIndex } from './watcher-index';

/**
 * What the ring keeps of an event: its stored text when the backend gave it, not the decoded objects. Objects kept
 * for the thousands of events the ring spans outlived the JS garbage collector's young generation, so it copied and
 * promoted every written object; text is one flat string each, decoded again only for a replay.
 */
interface RingEntry {
  readonly type: WatchEventType;
  readonly key: string;
  readonly revision: number;
  readonly stored?: StoredEventText;
  /** Only when the backend gave no text. */
  readonly event?: WatchEvent;
}

const toEntry = (key: string, event: WatchEvent): RingEntry => {
  const { type, revision, stored } = event;
  return stored ? { type, key, revision, stored } : { type, key, revision, event };
};

const toEvent = (entry: RingEntry): WatchEvent => entry.event ?? decodeEvent(entry.type, entry.key, entry.revision, entry.stored!);

export interface CachedStorageOptions {
  /** Events kept for serving watches from a past revision. Default 10,000. */
  readonly bufferSize?: number;
  /** Pending events per watcher before it is ended with Unavailable. Default 1,000. */
  readonly watcherCapacity?: number;
  /** The prefix the upstream watch covers: every key the API server stores. Default `/`. */
  readonly keyspace?: string;
}

export class CachedStorage implements Storage {
  private readonly ring: EventRing<RingEntry>;
  private readonly watchers = new WatcherIndex();
  private readonly keyspace: string;
  /** The ring holds every event with revision in (bufferFrom, lastRevision]. */
  private bufferFrom = 0;
  private lastRevision = 0;
  private upstream?: Promise<Watcher>;
  private closed = false;
  private readonly channelOwner: ChannelOwner;

  constructor(
    readonly backend: Storage,
    options: CachedStorageOptions = {},
  ) {
    this.ring = new EventRing<RingEntry>(options.bufferSize ?? 10_000);
    this.channelOwner = {
      capacity: options.watcherCapacity ?? 1_000,
      revision: () => this.lastRevision,
      onEnd: (c) => this.watchers.remove(c),
    };
    this.keyspace = options.keyspace ?? '/';
  }

  /** How many watchers the cache is feeding (for metrics). */
  get watcherCount(): number {
    return this.watchers.size;
  }

  create(key: string, obj: StoredObject): Promise<StoredObject> {
    return this.backend.create(key, obj);
  }

  get(key: string): Promise<StoredObject> {
    return this.backend.get(key);
  }

  list(prefix: string, opts?: ListOptions): Promise<ListResult> {
    return this.backend.list(prefix, opts);
  }

  guaranteedUpdate(key: string, tryUpdate: TryUpdate, preconditions?: Preconditions): Promise<StoredObject> {
    return this.backend.guaranteedUpdate(key, tryUpdate, preconditions);
  }

  delete(key: string, preconditions?: Preconditions): Promise<StoredObject> {
    return this.backend.delete(key, preconditions);
  }

  currentRevision(): Promise<number> {
    return this.backend.currentRevision();
  }

  async watch(prefix: string, opts: WatchOptions): Promise<Watcher> {
    if (this.closed) throw new StorageError('Unavailable', prefix, 'watch cache is closed');
    if (!prefix.startsWith(this.keyspace)) return this.backend.watch(prefix, opts);
    await this.ensureUpstream();
    const from = opts.fromRevision > 0 ? opts.fromRevision : this.lastRevision;
    if (from < this.bufferFrom) return this.backend.watch(prefix, opts);
    // Registering and replaying in one JS turn: no upstream event can slip between them.
    const channel = new WatchChannel(prefix, { ...opts, fromRevision: from }, this.channelOwner);
    this.watchers.add(channel);
    const matches = isPrefix(prefix) ? (key: string) => key.startsWith(prefix) : (key: string) => key === prefix;
    channel.replay([...this.ring.after(from)].filter((entry) => matches(entry.key)).map(toEvent));
    return channel;
  }

  async compact(revision: number): Promise<void> {
    await this.backend.compact(revision);
    // History at or below a compacted revision is gone for everyone, the cache included.
    if (revision > this.bufferFrom) {
      this.ring.dropThrough(revision);
      this.bufferFrom = revision;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const upstream = this.upstream;
    this.upstream = undefined;
    (await upstream?.catch(() => undefined))?.stop();
    this.failAll(new StorageError('Unavailable', this.keyspace, 'watch cache closed'));
    await this.backend.close();
  }

  private ensureUpstream(): Promise<Watcher> {
    this.upstream ??= this.startUpstream().catch((err: unknown) => {
      this.upstream = undefined;
      throw err;
    });
    return this.upstream;
  }

  private async startUpstream(): Promise<Watcher> {
    const revision = await this.backend.currentRevision();
    this.ring.clear();
    this.bufferFrom = this.lastRevision = revision;
    const upstream = await this.backend.watch(this.keyspace, {
      fromRevision: revision,
      onEvent: (event) => this.onUpstreamEvent(event),
      onError: (err) => this.onUpstreamError(err),
    });
    // fromRevision 0 (an empty store) means "from now", which may be later than `revision`: claim no history
    // from before the point the upstream really started at.
    const started = upstream.progress?.() ?? revision;
    this.bufferFrom = Math.max(this.bufferFrom, started);
    this.lastRevision = Math.max(this.lastRevision, started);
    return upstream;
  }

  private onUpstreamEvent(event: WatchEvent): void {
    if (event.key === undefined) {
      this.onUpstreamError(new StorageError('Invalid', this.keyspace, `backend sent an event without a key at ${event.revision}`));
      return;
    }
    const evicted = this.ring.push(toEntry(event.key, event));
    if (evicted) this.bufferFrom = evicted.revision;
    this.lastRevision = event.revision;
    this.watchers.publish(event.key, event);
  }

  /** The upstream watch ended: every watcher ends with its error, and the next watch starts a fresh upstream. */
  private onUpstreamError(err: StorageError): void {
    const upstream = this.upstream;
    this.upstream = undefined;
    void upstream?.then((w) => w.stop(), () => undefined);
    this.ring.clear();
    this.failAll(err);
  }

  private failAll(err: StorageError): void {
    for (const channel of this.watchers.all()) channel.fail(err);
  }
}
