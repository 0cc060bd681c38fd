/**
 * The garbage collector, inside the API server process: watches everything stored and
 *  - deletes dependents whose owners (ownerReferences) are all gone (background cascade),
 *  - deletes the dependents of an owner in foreground deletion, then removes its `foregroundDeletion` finalizer,
 *  - releases the dependents of an owner deleted with `orphan`, then removes that finalizer,
 *  - empties a terminating namespace, then deletes it.
 * Work is keyed and level-triggered: each step re-reads the index, so repeats are harmless.
 */
import type { ResourceInfo, SchemaRegistry } from '../schema';
import type { StoredObject, Watcher, WatchEvent } from '../storage';
import { FOREGROUND_FINALIZER, ORPHAN_FINALIZER, deleteObject, isNamespaceResource } from './delete';
import { ROOT_PREFIX, namespaceKey } from './keys';
import { metaOf } from './metadata';
import type { ResourceRest } from './rest';

const RETRY_MS = 1_000;

/**
 * What the collector keeps of an object: its type, identity, owners and deletion state. Not the whole object: the
 * collector sees every object of the cluster, and holding each one's spec and status for as long as it exists made
 * every write's decoded object long-lived, so the JS garbage collector copied and promoted all of them.
 */
const identity = (obj: StoredObject): StoredObject => {
  const { name, namespace, uid, ownerReferences, deletionTimestamp, finalizers } = metaOf(obj);
  return { apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name, namespace, uid, ownerReferences, deletionTimestamp, finalizers } };
};

export class GarbageCollector {
  /** Every stored object, as much of it as collecting needs (see `identity`). */
  private readonly objects = new Map<string, StoredObject>();
  private readonly keyByUid = new Map<string, string>();
  private readonly dependents = new Map<string, Set<string>>();
  private readonly queue = new Set<string>();
  private watcher?: Watcher;
  private running = false;
  private stopped = false;
  private retryTimer?: NodeJS.Timeout;
  private unsubscribe?: () => void;

  constructor(
    private readonly rest: ResourceRest,
    private readonly schemas: SchemaRegistry,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = this.schemas.onChange(() => (this.byKeySegment = undefined));
    const list = await this.rest.storage.list(ROOT_PREFIX);
    for (const obj of list.items) this.index(this.keyOf(obj), obj);
    for (const key of this.objects.keys()) this.queue.add(key);
    this.watcher = await this.rest.storage.watch(ROOT_PREFIX, {
      fromRevision: list.revision,
      onEvent: (event) => this.onEvent(event),
      onError: (err) => {
        if (!this.stopped) console.error('berth-apiserver: garbage collector watch ended:', err.message);
      },
    });
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.watcher?.stop();
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  /** `group/plural` (as in storage keys) → resource; rebuilt when CRDs come and go. */
  private byKeySegment?: Map<string, ResourceInfo>;

  private infoOfKey(key: string): ResourceInfo | undefined {
    const [, , group, plural] = key.split('/');
    this.byKeySegment ??= new Map(this.schemas.resources().map((r) => [`${r.group || 'core'}/${r.plural}`, r]));
    return this.byKeySegment.get(`${group}/${plural}`);
  }

  private keyOf(obj: StoredObject): string {
    const info = this.schemas.resolveKind(String(obj.apiVersion), String(obj.kind));
    const meta = metaOf(obj);
    const group = info?.group || 'core';
    const plural = info?.plural ?? String(obj.kind).toLowerCase();
    return info?.namespaced || meta.namespace ? `/registry/${group}/${plural}/${meta.namespace}/${meta.name}` : `/registry/${group}/${plural}/${meta.name}`;
  }

  private index(key: string, obj: StoredObject | undefined): void {
    const old = this.objects.get(key);
    if (old) {
      this.keyByUid.delete(String(metaOf(old).uid));
      for (const ref of metaOf(old).ownerReferences ?? []) this.dependents.get(ref.uid)?.delete(key);
    }
    if (!obj) {
      this.objects.delete(key);
      return;
    }
    this.objects.set(key, identity(obj));
    this.keyByUid.set(String(metaOf(obj).uid), key);
    for (const ref of metaOf(obj).ownerReferences ?? []) {
      if (!this.dependents.has(ref.uid)) this.dependents.set(ref.uid, new Set());
      this.dependents.get(ref.uid)?.add(key);
    }
  }

  private onEvent(event: WatchEvent): void {
    const key = this.keyOf(event.object);
    const meta = metaOf(event.object);
    this.index(key, event.type === 'DELETED' ? undefined : event.object);
    if (event.type === 'DELETED') {
      for (const dep of this.dependents.get(String(meta.uid)) ?? []) this.queue.add(dep);
      for (const ref of meta.ownerReferences ?? []) {
        const owner = this.keyByUid.get(ref.uid);
        if (owner) this.queue.add(owner);
      }
      if (meta.namespace) this.queue.add(namespaceKey(meta.namespace));
      // A namespace gone for good: anything still in it (a create that raced its removal) goes too.
      if (key.startsWith('/registry/core/namespaces/'))
        for (const [k, o] of this.objects) if (metaOf(o).namespace === meta.name) this.queue.add(k);
    } else if (this.mayNeedWork(event.object)) this.queue.add(key);
    this.kick();
  }

  /**
   * Whether `process` could act on this live object now: it is being deleted, has owners, or sits in a namespace
   * not (or no longer) known. Most writes need nothing, and skipping them keeps the collector off every write's
   * path; an object that needs work later is queued by the event that makes it so (its owner's or namespace's).
   */
  private mayNeedWork(obj: StoredObject): boolean {
    const meta = metaOf(obj);
    return !!meta.deletionTimestamp || !!meta.ownerReferences?.length || (!!meta.namespace && !this.objects.has(namespaceKey(meta.namespace)));
  }

  private kick(): void {
    if (this.running || this.stopped || this.queue.size === 0) return;
    this.running = true;
    void this.drain().finally(() => {
      this.running = false;
      if (this.queue.size > 0 && !this.retryTimer && !this.stopped) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.size > 0 && !this.stopped) {
      const [key] = this.queue;
      this.queue.delete(key);
      try {
        await this.process(key);
      } catch (err) {
        if (this.stopped) return;
        console.error(`berth-apiserver: garbage collector: ${key}:`, (err as Error).message);
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.queue.add(key);
          this.kick();
        }, RETRY_MS);
      }
    }
  }

  private liveDependents(uid: string): string[] {
    return [...(this.dependents.get(uid) ?? [])].filter((k) => this.objects.has(k));
  }

  private async process(key: string): Promise<void> {
    const obj = this.objects.get(key);
    const info = this.infoOfKey(key);
    if (!obj || !info) return;
    const meta = metaOf(obj);
    if (meta.deletionTimestamp) {
      if (isNamespaceResource(info)) return this.finishNamespace(String(meta.name), obj);
      if (meta.finalizers?.includes(FOREGROUND_FINALIZER)) return this.finishForeground(info, obj);
      if (meta.finalizers?.includes(ORPHAN_FINALIZER)) return this.finishOrphan(info, obj);
    }
    if (await this.collectIfNamespaceGone(info, obj)) return;
    await this.collectIfOrphaned(info, obj);
  }

  /** An object left in a namespace that no longer exists (created while it was being removed) is deleted. */
  private async collectIfNamespaceGone(info: ResourceInfo, obj: StoredObject): Promise<boolean> {
    const namespace = metaOf(obj).namespace;
    if (!info.namespaced || !namespace || this.objects.has(namespaceKey(namespace))) return false;
    await this.deleteQuietly(info, obj, 'Background');
    return true;
  }

  /** A dependent all of whose owners are gone (or being deleted in the foreground) is deleted. */
  private async collectIfOrphaned(info: ResourceInfo, obj: StoredObject): Promise<void> {
    const refs = metaOf(obj).ownerReferences ?? [];
    if (refs.length === 0 || metaOf(obj).deletionTimestamp) return;
    const owners = refs.map((r) => this.objects.get(this.keyByUid.get(r.uid) ?? ''));
    const foreground = owners.some((o) => o && metaOf(o).deletionTimestamp && metaOf(o).finalizers?.includes(FOREGROUND_FINALIZER));
    const allGoing = owners.every((o) => !o || (metaOf(o).deletionTimestamp && metaOf(o).finalizers?.includes(FOREGROUND_FINALIZER)));
    if (!allGoing) return;
    await this.deleteQuietly(info, obj, foreground ? 'Foreground' : 'Background');
  }

  private async finishForeground(info: ResourceInfo, owner: StoredObject): Promise<void> {
    const deps = this.liveDependents(String(metaOf(owner).uid));
    if (deps.length > 0) {
      for (const dep of deps) this.queue.add(dep);
      return;
    }
    await this.removeFinalizer(info, owner, FOREGROUND_FINALIZER);
  }

  private async finishOrphan(info: ResourceInfo, owner: StoredObject): Promise<void> {
    const uid = String(metaOf(owner).uid);
    for (const dep of this.liveDependents(uid)) {
      const depInfo = this.infoOfKey(dep);
      if (!depInfo) continue;
      await this.rest.storage
        .guaranteedUpdate(dep, (cur) => {
          const next = structuredClone(cur);
          const refs = (metaOf(next).ownerReferences ?? []).filter((r) => r.uid !== uid);
          if (refs.length > 0) metaOf(next).ownerReferences = refs;
          else delete metaOf(next).ownerReferences;
          return next;
        })
        .catch((err: { code?: string }) => {
          if (err.code !== 'NotFound') throw err;
        });
    }
    await this.removeFinalizer(info, owner, ORPHAN_FINALIZER);
  }

  private async finishNamespace(name: string, ns: StoredObject): Promise<void> {
    const contents = [...this.objects.entries()].filter(([, o]) => metaOf(o).namespace === name);
    for (const [key, obj] of contents) {
      const info = this.infoOfKey(key);
      if (info && !metaOf(obj).deletionTimestamp) await this.deleteQuietly(info, obj, 'Background');
    }
    if (contents.length > 0) return;
    await this.rest.storage.delete(namespaceKey(name), { uid: String(metaOf(ns).uid) }).catch((err: { code?: string }) => {
      if (err.code !== 'NotFound') throw err;
    });
  }

  private async removeFinalizer(info: ResourceInfo, obj: StoredObject, finalizer: string): Promise<void> {
    const meta = metaOf(obj);
    const key = this.keyOf(obj);
    const updated = await this.rest.storage
      .guaranteedUpdate(key, (cur) => {
        const next = structuredClone(cur);
        metaOf(next).finalizers = (metaOf(next).finalizers ?? []).filter((f) => f !== finalizer);
        return next;
      }, { uid: String(meta.uid) })
      .catch((err: { code?: string }) => (err.code === 'NotFound' ? undefined : Promise.reject(err)));
    if (updated) await this.rest.finalizeIfDone(info, updated);
  }

  private async deleteQuietly(info: ResourceInfo, obj: StoredObject, policy: 'Background' | 'Foreground'): Promise<void> {
    const meta = metaOf(obj);
    await deleteObject(this.rest, info, meta.namespace, String(meta.name), {
      propagationPolicy: policy,
      preconditions: { uid: String(meta.uid) },
      dryRun: false,
    }).catch((err: { code?: number }) => {
      if (err.code !== 404 && err.code !== 409) throw err;
    });
  }
}
