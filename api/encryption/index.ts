/**
 * Encryption at rest for Secrets: AES-256-GCM envelope encryption under a rotatable key file.
 *
 * How the server uses it: wrap the backend once, under the watch cache, before anything else sees it —
 *   const storage = new CachedStorage(encryptedStorage(home, backend));   // $home/encryption-keys.json, mode 0600
 * (= new EncryptingStorage(backend, KeyRing.loadOrCreate(file)), default prefix /registry/berth.dev/secrets/)
 * and use `storage` everywhere (registry, watch cache). Under the cache, each event is decrypted once, not per
 * watcher. Secrets' `data`/`stringData` (and kubectl's last-applied-configuration annotation, which repeats them) are
 * sealed in the backend; the rest of the metadata stays clear. Reading a tampered value throws StorageError 'Invalid' naming the secret (map it to a 500 Status
 * "InternalError" without the payload — or whatever the error middleware does for Invalid from storage).
 * Rotation (`berth secrets reencrypt`): `keys.rotate()` then `await reencryptAll(storage)`; a KeyRing notices a key file
 * rotated by another process on its next use (one stat per call). Over HTTP (the CLI cannot open SQLite while the
 * server holds it): mount `encryptionAdminRouter(storage, encrypted.keys)` among the guards, after authorization; the
 * CLI then POSTs /admin/v1/encryption/reencrypt?rotate=true[&prune=true] with the admin credentials.
 */
export { KeyRing } from './keyring';
export type { KeyEntry, KeyProvider } from './keyring';
export { seal, open, DecryptionError } from './envelope';
export type { Sealed } from './envelope';
export {
  EncryptingStorage,
  encryptedStorage,
  reencryptAll,
  PAYLOAD_FIELDS,
  SEALED_ANNOTATIONS,
  SEALED_FIELD,
  DEFAULT_ENCRYPTED_PREFIXES,
} from './storage';
export { encryptionAdminRouter, REENCRYPT_PATH } from './router';
