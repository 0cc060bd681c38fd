/**
 * `EncryptingStorage` wraps any `Storage` so that objects under the configured prefixes (Secrets) are stored with
 * their payload fields (`data`, `stringData`) sealed (envelope.ts) and everything else — metadata, kind, type —
 * in clear, so list, watch, label and field selectors work unchanged. Reads decrypt; a value that fails
 * authentication becomes a StorageError 'Invalid' naming the object, never garbage.
 */
import { isDeepStrictEqual } from 'node:util';
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
} from '../storage/types';
import { open, seal, Sealed } from './envelope';
import * as path from 'node:path';
import { KeyProvider, KeyRing } from './keyring';

/** Fields that carry secret values. */
export const PAYLOAD_FIELDS = ['data', 'stringData'] as const;
/**
 * Annotations that carry secret values too: `kubectl apply` keeps the whole applied object (data included) in
 * last-applied-configuration. They are sealed with the payload and put back on read.
 */
export const SEALED_ANNOTATIONS = ['kubectl.kubernetes.io/last-applied-configuration'] as const;
/** Key of the payload entry holding the sealed annotations. */
const PAYLOAD_ANNOTATIONS = 'annotations';
/** Where the sealed payload lives in the stored object. */
export const SEALED_FIELD = 'encryptedPayload';
export const DEFAULT_ENCRYPTED_PREFIXES = ['/registry/berth.dev/secrets/'];

export class EncryptingStorage<K extends KeyProvider = KeyProvider> implements Storage {
  constructor(
    private readonly inner: Storage,
    readonly keys: K,
    private readonly prefixes: readonly string[] = DEFAULT_ENCRYPTED_PREFIXES,
  ) {}

  async create(key: string, obj: StoredObject): Promise<StoredObject> {
    return this.decrypt(key, await this.inner.create(key, this.encrypt(key, obj)));
  }

  async get(key: string): Promise<StoredObject> {
    return this.decrypt(key, await this.inner.get(key));
  }

  async list(prefix: string, opts?: ListOptions): Promise<ListResult> {
    const predicate = opts?.predicate;
    const innerOpts: ListOptions | undefined =
      predicate && this.mayCover(prefix) ? { ...opts, predicate: (o) => predicate(this.decryptListed(prefix, o)) } : opts;
    const result = await this.inner.list(prefix, innerOpts);
    if (!this.mayCover(prefix)) return result;
    return { ...result, items: result.items.map((o) => this.decryptListed(prefix, o)) };
  }

  /**
   * The caller's tryUpdate sees the decrypted object. If it returns the same plaintext and the stored value is
   * already sealed under the active key, the stored value is handed back untouched so the backend writes nothing;
   * otherwise (changed, or sealed under an older key, or stored in clear) it is sealed afresh — which is how
   * `reencryptAll` moves every secret to the active key.
   */
  guaranteedUpdate(key: string, tryUpdate: TryUpdate, preconditions?: Preconditions): Promise<StoredObject> {
    if (!this.covers(key)) return this.inner.guaranteedUpdate(key, tryUpdate, preconditions);
    return this.inner
      .guaranteedUpdate(
        key,
        async (stored) => {
          const current = this.decrypt(key, stored);
          const next = await tryUpdate(current);
          if (sameJson(next, current) && this.isSealedUnderActiveKey(stored)) return stored;
          return this.encrypt(key, next);
        },
        preconditions,
      )
      .then((o) => this.decrypt(key, o));
  }

  async delete(key: string, preconditions?: Preconditions): Promise<StoredObject> {
    return this.decrypt(key, await this.inner.delete(key, preconditions));
  }

  watch(prefix: string, opts: WatchOptions): Promise<Watcher> {
    if (!this.mayCover(prefix)) return this.inner.watch(prefix, opts);
    let failed = false;
    let innerWatcher: Watcher | undefined;
    const onEvent = (event: WatchEvent): void | Promise<void> => {
      if (failed) return;
      if (event.key !== undefined && !this.covers(event.key)) return opts.onEvent(event);
      let decrypted: WatchEvent;
      try {
        const open = (o: StoredObject) => (event.key ? this.decrypt(event.key, o) : this.decryptListed(prefix, o));
        // Without the stored text, which is the sealed form: the watch cache would replay it undecrypted.
        const { stored: _sealed, ...rest } = event;
        decrypted = { ...rest, object: open(event.object), prevObject: event.prevObject && open(event.prevObject) };
      } catch (err) {
        failed = true;
        innerWatcher?.stop();
        opts.onError?.(err as StorageError);
        return;
      }
      return opts.onEvent(decrypted);
    };
    return this.inner.watch(prefix, { ...opts, onEvent }).then((w) => {
      innerWatcher = w;
      return w;
    });
  }

  currentRevision(): Promise<number> {
    return this.inner.currentRevision();
  }

  compact(revision: number): Promise<void> {
    return this.inner.compact(revision);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** The object as stored: payload fields replaced by the sealed payload (objects outside the prefixes unchanged). */
  encrypt(key: string, obj: StoredObject): StoredObject {
    if (!this.covers(key)) return obj;
    const payload: Record<string, unknown> = {};
    const rest: StoredObject = { ...obj };
    for (const field of PAYLOAD_FIELDS) {
      if (field in rest) {
        payload[field] = rest[field];
        delete rest[field];
      }
    }
    delete rest[SEALED_FIELD];
    const annotations = obj.metadata.annotations as Record<string, string> | undefined;
    const sealedAnnotations = Object.fromEntries(SEALED_ANNOTATIONS.filter((a) => annotations?.[a] !== undefined).map((a) => [a, annotations![a]]));
    if (Object.keys(sealedAnnotations).length > 0) {
      payload[PAYLOAD_ANNOTATIONS] = sealedAnnotations;
      const kept = Object.fromEntries(Object.entries(annotations!).filter(([a]) => !(a in sealedAnnotations)));
      const { annotations: _all, ...metadata } = obj.metadata;
      // Annotations that held only sealed entries are dropped altogether, and come back whole on read.
      rest.metadata = Object.keys(kept).length > 0 ? { ...metadata, annotations: kept } : metadata;
    }
    return { ...rest, [SEALED_FIELD]: seal(Buffer.from(JSON.stringify(payload), 'utf8'), key, this.keys) };
  }

  /** The object as clients see it. Objects stored before encryption was enabled (no sealed field) pass through. */
  decrypt(key: string, stored: StoredObject): StoredObject {
    return this.covers(key) ? this.decryptAt([key], stored) : stored;
  }

  /**
   * Decrypts an object met in a list (or a watch event without `key`) of `prefix`. Lists do not report each item's key, so the key is
   * rebuilt from metadata for every encrypted prefix the listing can include (`<prefix>[<namespace>/]<name>`,
   * as api/registry lays keys out); the first that authenticates is the object's key.
   */
  private decryptListed(prefix: string, stored: StoredObject): StoredObject {
    if (!prefix.endsWith('/')) return this.decrypt(prefix, stored);
    const { namespace, name } = stored.metadata;
    const candidates = this.prefixes
      .filter((p) => p.startsWith(prefix) || prefix.startsWith(p))
      .map((p) => `${p}${namespace ? `${namespace}/` : ''}${name}`)
      .filter((k) => k.startsWith(prefix));
    return this.decryptAt(candidates, stored);
  }

  private decryptAt(candidateKeys: readonly string[], stored: StoredObject): StoredObject {
    const sealed = stored[SEALED_FIELD] as Sealed | undefined;
    if (sealed === undefined) return stored;
    const key = candidateKeys[0] ?? '';
    let payload: Record<string, unknown> | undefined;
    let failure: unknown = new Error('no storage key to authenticate against');
    for (const candidate of candidateKeys) {
      try {
        payload = JSON.parse(open(sealed, candidate, this.keys).toString('utf8')) as Record<string, unknown>;
        break;
      } catch (err) {
        failure = err;
      }
    }
    if (payload === undefined) {
      const ns = stored.metadata?.namespace;
      const name = `${ns ? `${ns}/` : ''}${stored.metadata?.name ?? key}`;
      throw new StorageError('Invalid', key, `cannot decrypt secret ${name}: ${(failure as Error).message}`, undefined, {
        cause: failure,
      });
    }
    const { [SEALED_FIELD]: _sealed, ...rest } = stored;
    const { [PAYLOAD_ANNOTATIONS]: sealedAnnotations, ...fields } = payload;
    const opened = { ...rest, ...fields } as StoredObject;
    if (sealedAnnotations !== undefined) {
      const annotations = { ...((stored.metadata.annotations as Record<string, string> | undefined) ?? {}), ...(sealedAnnotations as Record<string, string>) };
      opened.metadata = { ...stored.metadata, annotations };
    }
    return opened;
  }

  private isSealedUnderActiveKey(stored: StoredObject): boolean {
    const sealed = stored[SEALED_FIELD] as Sealed | undefined;
    return sealed !== undefined && sealed.kid === this.keys.activeKey().id;
  }

  private covers(key: string): boolean {
    return this.prefixes.some((p) => key.startsWith(p));
  }

  /** Whether a list/watch prefix can include covered keys (it is inside a covered prefix, or a covered prefix inside it). */
  private mayCover(prefix: string): boolean {
    return this.prefixes.some((p) => prefix.startsWith(p) || p.startsWith(prefix));
  }
}

/** Equal as JSON (what the backend stores), whatever the objects' prototypes or key order. */
function sameJson(a: unknown, b: unknown): boolean {
  const [ta, tb] = [JSON.stringify(a), JSON.stringify(b)];
  return ta === tb || isDeepStrictEqual(JSON.parse(ta), JSON.parse(tb));
}

/**
 * Rewrites every object under `prefix` (a resource prefix, `/registry/<group>/<resource>/`) through `storage` (an EncryptingStorage), which seals each one under the
 * active key if it is not already. Returns how many objects were examined.
 */
export async function reencryptAll(storage: Storage, prefix: string = DEFAULT_ENCRYPTED_PREFIXES[0]): Promise<number> {
  let count = 0;
  let continueToken: string | undefined;
  do {
    const page = await storage.list(prefix, { limit: 500, continue: continueToken });
    for (const obj of page.items) {
      const ns = obj.metadata.namespace ? `${obj.metadata.namespace}/` : '';
      try {
        await storage.guaranteedUpdate(`${prefix}${ns}${obj.metadata.name}`, (current) => current);
      } catch (err) {
        // Deleted since the list: nothing left to re-encrypt.
        if (!(err instanceof StorageError && err.code === 'NotFound')) throw err;
      }
      count++;
    }
    continueToken = page.continue;
  } while (continueToken);
  return count;
}

/** `backend` wrapped so Secrets are sealed under the key file `$home/encryption-keys.json` (created on first start). */
export function encryptedStorage(home: string, backend: Storage): EncryptingStorage<KeyRing> {
  return new EncryptingStorage(backend, KeyRing.loadOrCreate(path.join(home, 'encryption-keys.json')));
}
