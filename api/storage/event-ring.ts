/** A fixed-size ring of the most recent watch events, oldest first, searchable by revision. */
import { WatchEvent } from './types';

export class EventRing<E extends { readonly revision: number } = WatchEvent> {
  private readonly slots: Array<E | undefined>;
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`event ring capacity must be >= 1, got ${capacity}`);
    this.slots = new Array<E | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Appends an event; returns the one it evicted when full. */
  push(event: E): E | undefined {
    if (this.count < this.capacity) {
      this.slots[(this.start + this.count++) % this.capacity] = event;
      return undefined;
    }
    const evicted = this.slots[this.start];
    this.slots[this.start] = event;
    this.start = (this.start + 1) % this.capacity;
    return evicted;
  }

  /** Drops every event at or below `revision`. */
  dropThrough(revision: number): void {
    const keep = this.count - this.indexAfter(revision);
    for (let i = 0; i < this.count - keep; i++) this.slots[(this.start + i) % this.capacity] = undefined;
    this.start = (this.start + this.count - keep) % this.capacity;
    this.count = keep;
  }

  clear(): void {
    this.slots.fill(undefined);
    this.start = 0;
    this.count = 0;
  }

  /** The events with revision > `revision`, oldest first. */
  *after(revision: number): IterableIterator<E> {
    for (let i = this.indexAfter(revision); i < this.count; i++) yield this.at(i);
  }

  private at(i: number): E {
    return this.slots[(this.start + i) % this.capacity]!;
  }

  /** Binary search: the logical index of the first event with revision > `revision`. */
  private indexAfter(revision: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at(mid).revision <= revision) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
