/**
 * The key-encryption keys for Secrets at rest: `$BERTH_HOME/encryption-keys.json` (mode 0600) holds several
 * AES-256 keys, exactly one of them active. New data is sealed under the active key; any listed key still opens
 * older data, so rotation is: `rotate()` (new active key), then re-encrypt every secret, then (optionally) `prune()`.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeSecretFile } from '../auth';

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
  private state: KeyFile = { active: '', keys: [] };
  /** mtime/inode/size of the loaded file: `berth secrets reencrypt` in another process rotates by atomic rename. */
  private loadedVersion = '';

  private constructor(readonly file: string) {
    this.reloadIfChanged();
  }

  /** Loads `file`, creating it with one fresh active key on first start. */
  static loadOrCreate(file: string): KeyRing {
    if (!fs.existsSync(file)) {
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      const first = newKey();
      writeSecretFile(file, serialize({ active: first.id, keys: [first] }));
    }
    return new KeyRing(file);
  }

  private static read(file: string): KeyFile {
    let parsed: KeyFile;
    try {
      parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as KeyFile;
    } catch (err) {
      throw new Error(`encryption key file ${file} is not valid JSON`, { cause: err });
    }
    if (!Array.isArray(parsed.keys) || !parsed.keys.some((k) => k.id === parsed.active)) {
      throw new Error(`encryption key file ${file}: active key "${parsed.active}" is not among its keys`);
    }
    for (const k of parsed.keys) {
      if (Buffer.from(k.secret, 'base64').length !== 32) throw new Error(`encryption key file ${file}: key "${k.id}" is not 32 bytes`);
    }
    return parsed;
  }

  /** Re-reads the file if another process changed it; cheap (one stat), so called on every use. */
  reloadIfChanged(): void {
    const stat = fs.statSync(this.file);
    const version = `${stat.mtimeMs}:${stat.ino}:${stat.size}`;
    if (version === this.loadedVersion) return;
    this.state = KeyRing.read(this.file);
    this.loadedVersion = version;
  }

  activeKey(): { id: string; key: Buffer } {
    this.reloadIfChanged();
    return { id: this.state.active, key: this.keyById(this.state.active)! };
  }

  keyById(id: string): Buffer | undefined {
    this.reloadIfChanged();
    const entry = this.state.keys.find((k) => k.id === id);
    return entry ? Buffer.from(entry.secret, 'base64') : undefined;
  }

  ids(): string[] {
    this.reloadIfChanged();
    return this.state.keys.map((k) => k.id);
  }

  /** Adds a new key, makes it active and persists; returns its id. Old keys stay for decrypting older data. */
  rotate(): string {
    this.reloadIfChanged();
    const fresh = newKey();
    this.state = { active: fresh.id, keys: [...this.state.keys, fresh] };
    writeSecretFile(this.file, serialize(this.state));
    return fresh.id;
  }

  /** Drops every key but the active one (only after all data was re-encrypted under it). */
  prune(): void {
    this.reloadIfChanged();
    this.state = { active: this.state.active, keys: this.state.keys.filter((k) => k.id === this.state.active) };
    writeSecretFile(this.file, serialize(this.state));
  }
}

function newKey(): KeyEntry {
  return { id: `k${Date.now().toString(36)}${crypto.randomBytes(3).toString('hex')}`, secret: crypto.randomBytes(32).toString('base64'), created: new Date().toISOString() };
}

function serialize(state: KeyFile): string {
  return JSON.stringify(state, null, 2) + '\n';
}
