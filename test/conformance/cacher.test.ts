import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CachedStorage, SqliteStorage } from '../../api/storage';
import { runStorageSuite } from './storage';

runStorageSuite('watch cache over sqlite', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cacher-conf-'));
  const store = new CachedStorage(new SqliteStorage(path.join(dir, 'berth.db')));
  return {
    store,
    async cleanup() {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
      expect(fs.existsSync(dir)).toBe(false);
    },
  };
});
