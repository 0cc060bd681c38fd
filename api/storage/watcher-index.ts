/**
 * Watch channels indexed by the prefix (or exact key) they watch, so publishing an event for a key costs one map
 * lookup per `/`-segment of the key plus the matching channels — not a scan of every watcher.
 */
import { WatchChannel } from './watch-channel';
import { WatchEvent } from './types';

export class WatcherIndex {
  private readonly byPrefix = new Map<string, Set<WatchChannel>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(channel: WatchChannel): void {
    let set = this.byPrefix.get(channel.prefix);
    if (!set) this.byPrefix.set(channel.prefix, (set = new Set()));
    set.add(channel);
    this.count++;
  }

  remove(channel: WatchChannel): void {
    const set = this.byPrefix.get(channel.prefix);
    if (!set?.delete(channel)) return;
    this.count--;
    if (set.size === 0) this.byPrefix.delete(channel.prefix);
  }

  /** Delivers `event` (for `key`) to every channel watching the key itself, `` or a `/`-ending prefix of it. */
  publish(key: string, event: WatchEvent): void {
    if (this.count === 0) return;
    this.pushAll(this.byPrefix.get(key), event);
    this.pushAll(this.byPrefix.get(''), event);
    for (let i = key.indexOf('/'); i !== -1 && i < key.length - 1; i = key.indexOf('/', i + 1)) {
      this.pushAll(this.byPrefix.get(key.slice(0, i + 1)), event);
    }
  }

  /** Every channel, for ending them all (close, backend lost). */
  all(): WatchChannel[] {
    return [...this.byPrefix.values()].flatMap((set) => [...set]);
  }

  private pushAll(set: Set<WatchChannel> | undefined, event: WatchEvent): void {
    if (set) for (const channel of set) channel.push(event);
  }
}
