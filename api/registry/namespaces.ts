/**
 * Which namespaces exist, kept in memory from a storage watch, so creating an object does not cost a storage
 * read of its namespace. A name the index does not know is looked up in storage (another API server may have
 * just created it); the garbage collector removes objects whose namespace is gone, covering the remaining race.
 */
import type { Storage, Watcher } from '../storage';
import { NAMESPACES, prefixFor } from './keys';
import { metaOf } from './metadata';

export interface NamespaceState {
  readonly terminating: boolean;
}

export interface NamespaceLookup {
  /** The namespace's state if this index knows it; undefined means "ask storage". */
  lookup(name: string): NamespaceState | undefined;
}

export class NamespaceIndex implements NamespaceLookup {
  private readonly known = new Map<string, NamespaceState>();
  private watcher?: Watcher;

  constructor(private readonly storage: Storage) {}

  async start(): Promise<void> {
    const prefix = prefixFor(NAMESPACES);
    const { items, revision } = await this.storage.list(prefix);
    for (const ns of items) this.known.set(String(ns.metadata.name), { terminating: !!metaOf(ns).deletionTimestamp });
    this.watcher = await this.storage.watch(prefix, {
      fromRevision: revision,
      onEvent: ({ type, object }) => {
        const name = String(object.metadata.name);
        if (type === 'DELETED') this.known.delete(name);
        else this.known.set(name, { terminating: !!metaOf(object).deletionTimestamp });
      },
      // Without its watch the index could go stale: forget everything and let every lookup go to storage.
      onError: () => this.known.clear(),
    });
  }

  stop(): void {
    this.watcher?.stop();
    this.known.clear();
  }

  lookup(name: string): NamespaceState | undefined {
    return this.known.get(name);
  }
}
