/**
 * One watcher's delivery queue: events in, `onEvent` calls out, in revision order, each revision once, never after
 * stop. Writers only enqueue (no user code runs inside a write); delivery happens in a microtask, so a handler that
 * writes to the store cannot reorder what other watchers see.
 */
import { StorageError, WatchEvent, Watcher, WatchOptions } from './types';

/** What a channel needs from the store feeding it. */
export interface ChannelOwner {
  /** Pending live events beyond this end the watch with Unavailable. */
  readonly capacity: number;
  /** The revision through which the owner has pushed every event (matching or not) to its channels; 0 if unknown. */
  revision(): number;
  /** Called once when a channel ends, for whatever reason, so the owner can unregister it. */
  onEnd(channel: WatchChannel): void;
}

export class WatchChannel implements Watcher {
  private queue: WatchEvent[] = [];
  private head = 0;
  /** How many queued events (at the front of the queue) are replayed history; they do not count against capacity. */
  private replayPending = 0;
  private lastQueuedRevision: number;
  private draining = false;
  private stopped = false;

  constructor(
    /** The prefix or exact key this channel watches (used by the index that feeds it). */
    readonly prefix: string,
    private readonly opts: WatchOptions,
    private readonly owner: ChannelOwner,
  ) {
    this.lastQueuedRevision = opts.fromRevision;
  }

  /** Every event at or below this revision has been handed to onEvent (or did not match). */
  progress(): number {
    if (this.head < this.queue.length) return this.queue[this.head].revision - 1;
    return Math.max(this.lastQueuedRevision, this.owner.revision());
  }

  /**
   * Enqueues history the watch asked for (fromRevision in the past), before any live event. However long, it does
   * not count against capacity: a backlog larger than the bound must not end the watch before it starts.
   */
  replay(events: Iterable<WatchEvent>): void {
    for (const event of events) if (this.enqueue(event)) this.replayPending++;
  }

  /** Enqueues a live event; one more than `capacity` pending ends the watch with Unavailable. */
  push(event: WatchEvent): void {
    if (this.stopped || event.revision <= this.lastQueuedRevision) return;
    if (this.queue.length - this.head - this.replayPending >= this.owner.capacity) {
      this.fail(
        new StorageError(
          'Unavailable',
          this.prefix,
          `watch on ${this.prefix} fell more than ${this.owner.capacity} events behind at revision ${event.revision}`,
          event.revision,
        ),
      );
      return;
    }
    this.enqueue(event);
  }

  /** Queues an event unless it is a duplicate (replay overlapping live) or the channel ended; true if queued. */
  private enqueue(event: WatchEvent): boolean {
    if (this.stopped || event.revision <= this.lastQueuedRevision) return false;
    this.lastQueuedRevision = event.revision;
    this.queue.push(event);
    if (!this.draining) {
      this.draining = true;
      queueMicrotask(() => void this.drain());
    }
    return true;
  }

  /** Ends the watch with an error: pending events are dropped, `onError` is called once (asynchronously). */
  fail(err: StorageError): void {
    if (this.end()) queueMicrotask(() => this.opts.onError?.(err));
  }

  stop(): void {
    this.end();
  }

  private end(): boolean {
    if (this.stopped) return false;
    this.stopped = true;
    this.queue = [];
    this.head = 0;
    this.replayPending = 0;
    this.owner.onEnd(this);
    return true;
  }

  private async drain(): Promise<void> {
    while (!this.stopped && this.head < this.queue.length) {
      const event = this.queue[this.head++];
      if (this.replayPending > 0) this.replayPending--;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      try {
        const pending = this.opts.onEvent(event);
        if (pending) await pending;
      } catch (err) {
        this.fail(new StorageError('Invalid', this.prefix, `watch handler for ${this.prefix} threw`, event.revision, { cause: err }));
        return;
      }
    }
    this.draining = false;
  }
}
