/** The storage layer's public entry: the contract, the backends and the factory the API server opens them with. */
export * from './types';
export { SqliteStorage, openSqliteFile } from './sqlite';
export type { SqliteStorageOptions } from './sqlite';
export type { AutoCompaction } from './compaction';
export { EtcdStorage } from './etcd';
export type { EtcdStorageOptions } from './etcd';
export { CachedStorage } from './cacher';
export type { CachedStorageOptions } from './cacher';
export { openStorage, DEFAULT_COMPACTION } from './open';
export type { StorageConfig } from './open';
