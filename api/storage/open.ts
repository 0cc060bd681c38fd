/** Opens the backend a configuration names, behind the watch cache. */
import { CachedStorage, CachedStorageOptions } from './cacher';
import { AutoCompaction } from './compaction';
import { EtcdStorage } from './etcd';
import { SqliteStorage } from './sqlite';
import { Storage } from './types';

interface CommonConfig {
  /** Periodic compaction; default every 5 minutes keeping the newest 10,000 revisions. `false` turns it off. */
  readonly compaction?: AutoCompaction | false;
  /** The watch cache in front of the backend; default on with its defaults. `false` serves watches from the backend. */
  readonly watchCache?: CachedStorageOptions | false;
}

export type StorageConfig =
  | (CommonConfig & { readonly backend: 'sqlite'; readonly path: string })
  | (CommonConfig & { readonly backend: 'etcd'; readonly endpoints: string[]; readonly prefix?: string });

export const DEFAULT_COMPACTION: AutoCompaction = { intervalMs: 5 * 60_000, keepRevisions: 10_000 };

export function openStorage(config: StorageConfig): Storage {
  const compaction = config.compaction === false ? undefined : (config.compaction ?? DEFAULT_COMPACTION);
  const backend =
    config.backend === 'sqlite'
      ? new SqliteStorage(config.path, { compaction })
      : new EtcdStorage({ endpoints: config.endpoints, prefix: config.prefix, compaction });
  return config.watchCache === false ? backend : new CachedStorage(backend, config.watchCache);
}
