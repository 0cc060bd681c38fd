/**
 * The key-encryption keys for Secrets at rest: `$BERTH_HOME/encryption-keys.json` (mode 0600) holds several
 * AES-256 keys, exactly one of them active. New data is sealed under the active key; any listed key still opens
 * older data, so rotation is: `rotate()` (new active key), then re-encrypt every secret, then (optionally) `prune()`.
 * The file is shared with `berth secrets reencrypt` in another process: a rotation there is seen here on next use.
 */
import * as crypto from 'node:crypto';
import { SharedJsonFile } from '../auth';

export interface KeyEntry {
  readonly id: string;
  /** base64 of 32 bytes. */
  readonly secret: string;
  readonly created: string;
}

interface KeyFile {
  active: string;
  keys: KeyEntry[];
}

/** What the envelope needs: the active key, and any key by id. */
export interface KeyProvider {
  activeKey(): { id: string; key: Buffer };
  /** undefined for an unknown id. */
  keyById(id: string): Buffer | undefined;
}

export class KeyRing implements KeyProvider {
  private constructor(private readonly state: SharedJsonFile<KeyFile>) {}

  get file(): string {
    return this.state.file;
  }

  /** Loads `file`, creating it with one fresh active key on first start. */
  static loadOrCreate(file: string): KeyRing {
    const initial = (): KeyFile => {
      const first = newKey();
      return { active: first.id, keys: [first] };
    };
    return new KeyRing(new SharedJsonFile<KeyFile>(file, initial, (f) => validate(file, f)));
  }

  activeKey(): { id: string; key: Buffer } {
    const { active } = this.state.read();
    return { id: active, key: this.keyById(active)! };
  }

  keyById(id: string): Buffer | undefined {
    const entry = this.state.read().keys.find((k) => k.id === id);
    return entry ? Buffer.from(entry.secret, 'base64') : undefined;
  }

  ids(): string[] {
    return this.state.read().keys.map((k) => k.id);
  }

  /** Adds a new key, makes it active and persists; returns its id. Old keys stay for decrypting older data. */
  rotate(): string {
    const fresh = newKey();
    this.state.update((f) => ({ active: fresh.id, keys: [...f.keys, fresh] }));
    return fresh.id;
  }

  /** Drops every key but the active one (only after all data was re-encrypted under it). */
  prune(): void {
    this.state.update((f) => ({ active: f.active, keys: f.keys.filter((k) => k.id === f.active) }));
  }
}

function validate(file: string, f: KeyFile): void {
  if (!Array.isArray(f.keys) || !f.keys.some((k) => k.id === f.active)) {
    throw new Error(`encryption key file ${file}: active key "${f.active}" is not among its keys`);
  }
  for (const k of f.keys) {
    if (Buffer.from(k.secret, 'base64').length !== 32) throw new Error(`encryption key file ${file}: key "${k.id}" is not 32 bytes`);
  }
}

function newKey(): KeyEntry {
  return {
    id: `k${Date.now().toString(36)}${crypto.randomBytes(3).toString('hex')}`,
    secret: crypto.randomBytes(32).toString('base64'),
    created: new Date().toISOString(),
  };
}
