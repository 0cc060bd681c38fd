import { WatchExpiredError } from '../../client';
import { Clock, KubeObject, ListWatcher, WatchHandle, keyOf, realClock } from './types';

export interface EventHandlers<T extends KubeObject> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

export interface InformerOptions {
  /** Re-deliver every cached object as an update this often (level-triggered safety net). 0 = never. */
  readonly resyncMs?: number;
  /** Reconnect back-off after a failed list or watch: doubles from min to max. */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly clock?: Clock;
  /** Where failures go; the informer keeps retrying whatever this does. */
  readonly onError?: (err: Error) => void;
}

/**
 * List-then-watch with a local cache (client-go's reflector + indexer). On a 410 it relists and delivers the
 * difference; on any other failure it reconnects with back-off. Cached objects are shared: never mutate them.
 */
export class Informer<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  private readonly handlers: EventHandlers<T>[] = [];
  private resourceVersion = '';
  private watch?: WatchHandle;
  private stopped = true;
  private synced = false;
  private backoffMs: number;
  private readonly waitersForSync: Array<() => void> = [];
  private resyncTimer?: { cancel(): void };
  private retryTimer?: { cancel(): void };
  private readonly clock: Clock;

  constructor(
    private readonly source: ListWatcher<T>,
    private readonly opts: InformerOptions = {},
  ) {
    this.clock = opts.clock ?? realClock;
    this.backoffMs = opts.minBackoffMs ?? 1000;
  }

  addHandlers(h: EventHandlers<T>): void {
    this.handlers.push(h);
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(namespace?: string): T[] {
    const all = [...this.cache.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list has been delivered to the handlers. */
  waitForSync(): Promise<void> {
    return this.synced ? Promise.resolve() : new Promise((r) => this.waitersForSync.push(r));
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.listAndWatch();
    this.scheduleResync();
  }

  stop(): void {
    this.stopped = true;
    this.watch?.stop();
    this.watch = undefined;
    this.resyncTimer?.cancel();
    this.retryTimer?.cancel();
  }

  private async listAndWatch(): Promise<void> {
    try {
      const { items, resourceVersion } = await this.source.list();
      if (this.stopped) return;
      this.replace(items);
      this.resourceVersion = resourceVersion;
      await this.startWatch();
    } catch (err) {
      this.retry(err as Error, true);
    }
  }

  private async startWatch(): Promise<void> {
    const handle = await this.source.watch(
      this.resourceVersion,
      (type, obj) => {
        if (obj.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
        if (type === 'BOOKMARK') return;
        if (type === 'DELETED') this.remove(obj);
        else this.upsert(obj);
        this.backoffMs = this.opts.minBackoffMs ?? 1000;
      },
      (err) => {
        this.watch = undefined;
        if (this.stopped) return;
        if (!err) return void this.startWatch().catch((e) => this.retry(e as Error, false));
        this.retry(err, err instanceof WatchExpiredError);
      },
    );
    if (this.stopped) handle.stop();
    else this.watch = handle;
  }

  private retry(err: Error, relist: boolean): void {
    if (this.stopped) return;
    if (!(err instanceof WatchExpiredError)) this.opts.onError?.(err);
    const delay = err instanceof WatchExpiredError ? 0 : this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.maxBackoffMs ?? 30_000);
    this.retryTimer = this.clock.setTimeout(() => {
      if (this.stopped) return;
      if (relist || !this.resourceVersion) void this.listAndWatch();
      else void this.startWatch().catch((e) => this.retry(e as Error, false));
    }, delay);
  }

  /** Makes the cache equal to a fresh list, delivering adds, updates and deletes for the difference. */
  private replace(items: T[]): void {
    const fresh = new Map(items.map((o) => [keyOf(o), o]));
    for (const [key, old] of this.cache) if (!fresh.has(key)) this.remove(old);
    for (const obj of fresh.values()) this.upsert(obj);
    if (!this.synced) {
      this.synced = true;
      for (const w of this.waitersForSync.splice(0)) w();
    }
  }

  private upsert(obj: T): void {
    const key = keyOf(obj);
    const old = this.cache.get(key);
    this.cache.set(key, obj);
    if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion) return;
    for (const h of this.handlers) old ? h.onUpdate?.(old, obj) : h.onAdd?.(obj);
  }

  private remove(obj: T): void {
    const key = keyOf(obj);
    const last = this.cache.get(key) ?? obj;
    this.cache.delete(key);
    for (const h of this.handlers) h.onDelete?.(last);
  }

  private scheduleResync(): void {
    const every = this.opts.resyncMs ?? 0;
    if (every <= 0 || this.stopped) return;
    this.resyncTimer = this.clock.setTimeout(() => {
      for (const obj of this.cache.values()) for (const h of this.handlers) h.onUpdate?.(obj, obj);
      this.scheduleResync();
    }, every);
  }
}
