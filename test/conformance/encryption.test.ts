import * as path from 'node:path';
import { EncryptingStorage, KeyRing } from '../../api/encryption';
import { CachedStorage } from '../../api/storage';
import { runStorageSuite, sqliteFixture } from './storage';

// The suite's keys all live under /registry/containers/ and /registry/images/: seal both, so every object is encrypted.
runStorageSuite(
  'encryption at rest over sqlite',
  sqliteFixture((backend, dir) => new EncryptingStorage(backend, KeyRing.loadOrCreate(path.join(dir, 'keys.json')), ['/registry/containers/', '/registry/images/'])),
);


// As the API server stacks them: the watch cache above encryption, so replays from the cache are decrypted too.
runStorageSuite(
  'watch cache over encryption at rest over sqlite',
  sqliteFixture(
    (backend, dir) =>
      new CachedStorage(new EncryptingStorage(backend, KeyRing.loadOrCreate(path.join(dir, 'keys.json')), ['/registry/containers/', '/registry/images/'])),
  ),
);
