/**
 * Child process for sqlite-crash.test.ts: hammers a SqliteStorage with 64 concurrent writers and prints one line per
 * acknowledged write (`create KEY REV` or `count VALUE REV`), until it is killed.
 */
import { SqliteStorage } from '../../../api/storage';

const store = new SqliteStorage(process.argv[2]);
const counterKey = '/registry/crash/ns/counter';

async function writer(id: number): Promise<never> {
  for (let i = 0; ; i++) {
    const key = `/registry/crash/ns/w${id}-${i}`;
    const created = await store.create(key, { metadata: { name: `w${id}-${i}` }, spec: { id, i } });
    process.stdout.write(`create ${key} ${created.metadata.resourceVersion}\n`);
    const counted = await store.guaranteedUpdate(counterKey, (o) => ({ ...o, spec: { count: (o.spec as { count: number }).count + 1 } }));
    process.stdout.write(`count ${(counted.spec as { count: number }).count} ${counted.metadata.resourceVersion}\n`);
  }
}

void store.create(counterKey, { metadata: { name: 'counter' }, spec: { count: 0 } }).then(() => {
  for (let id = 0; id < 64; id++) void writer(id);
});
