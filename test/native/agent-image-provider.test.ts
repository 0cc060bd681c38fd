/** The agent's image provider on a fresh node: containers starting at once share one seeding of busybox. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StoreImageProvider } from '../../node-agent/agent';
import { ImageStore } from '../../node-agent/images/store';

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-image-provider-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const seed = (dir: string, times: number) => {
  const provider = new StoreImageProvider(new ImageStore({ root: path.join(root, dir) }));
  return Promise.all(Array.from({ length: times }, () => provider.ensure('busybox', undefined, () => undefined, 'default')));
};

it('seeds busybox once for twenty containers asking at the same time, and every one gets its digest', async () => {
  await seed('warm-up', 1); // module loading and the busybox binary in the page cache
  let t = Date.now();
  await seed('one', 1);
  const oneMs = Date.now() - t;
  t = Date.now();
  const resolved = await seed('twenty', 20);
  // Twenty imports side by side take about twenty times one; a shared one, about one.
  expect(Date.now() - t).toBeLessThan(4 * oneMs + 100);
  const store = new ImageStore({ root: path.join(root, 'twenty') });
  const digests = new Set(resolved.map((r) => r.digest));
  expect(digests.size).toBe(1);
  expect(store.resolve('busybox:latest')).toBe(resolved[0].digest);
  expect(resolved[0].config.Cmd).toEqual(['sh']);
  // One import wrote one layer blob, one config and one manifest.
  expect(fs.readdirSync(path.join(root, 'twenty', 'blobs', 'sha256'))).toHaveLength(3);
});
