/**
 * Crash safety: the API server (its own process, SQLite store) is killed with SIGKILL during 64-way concurrent
 * writes and restarted on the same $BERTH_HOME. Every acknowledged write is there, resourceVersions never go
 * backwards, and a watcher resumes from its last resourceVersion (or gets 410 and relists).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApiClient, RESOURCES, WatchExpiredError, loadKubeconfig, type Container } from '../../client';
import { spawnApiServer } from '../helpers/apiserver';

const WRITERS = 64;

describe('API server crash safety (kill -9 during writes)', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-crash-'));
  afterAll(() => {
    fs.rmSync(home, { recursive: true, force: true });
    expect(fs.existsSync(home)).toBe(false);
  });

  it('When the server is killed mid-write and restarted, Then nothing acknowledged is lost and watchers resume', async () => {
    const first = await spawnApiServer(home);
    const client = new ApiClient(loadKubeconfig(first.kubeconfigPath));
    const acknowledged = new Map<string, number>();
    const seen = new Set<string>();
    let lastSeenRv = '';
    const startRv = (await client.list(RESOURCES.containers)).metadata.resourceVersion ?? '';
    const watch = await client.watch<Container>(RESOURCES.containers, { resourceVersion: startRv }, (type, obj) => {
      if (type === 'ADDED') seen.add(String(obj.metadata.name));
      lastSeenRv = String(obj.metadata.resourceVersion);
    });

    let crashed = false;
    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      for (let i = 0; !crashed; i++) {
        const name = `crash-${w}-${i}`;
        try {
          const created = await client.create<Container>(RESOURCES.containers, { metadata: { name }, spec: { image: 'busybox' } });
          acknowledged.set(name, Number(created.metadata.resourceVersion));
        } catch {
          return; // the server is gone: this write was never acknowledged
        }
      }
    });
    while (acknowledged.size < 300) await new Promise((r) => setTimeout(r, 10));
    await first.kill('SIGKILL');
    crashed = true;
    await Promise.all(writers);
    watch.stop();
    client.close();
    const maxAcked = Math.max(...acknowledged.values());

    const second = await spawnApiServer(home);
    const again = new ApiClient(loadKubeconfig(second.kubeconfigPath));
    try {
      const list = await again.list(RESOURCES.containers);
      const names = new Set(list.items.map((i) => String(i.metadata.name)));
      const lost = [...acknowledged.keys()].filter((n) => !names.has(n));
      expect(lost).toEqual([]);
      for (const item of list.items) {
        const acked = acknowledged.get(String(item.metadata.name));
        if (acked !== undefined) expect(Number(item.metadata.resourceVersion)).toBe(acked);
      }
      expect(Number(list.metadata.resourceVersion)).toBeGreaterThanOrEqual(maxAcked);
      const after = await again.create(RESOURCES.containers, { metadata: { name: 'after-restart' }, spec: { image: 'busybox' } });
      expect(Number(after.metadata.resourceVersion)).toBeGreaterThan(maxAcked);

      // Resume the watch from the last resourceVersion it saw; a 410 means relist.
      let resumed: 'events' | 'relisted' = 'events';
      try {
        const handle = await again.watch<Container>(RESOURCES.containers, { resourceVersion: lastSeenRv || startRv }, (type, obj) => {
          if (type === 'ADDED') seen.add(String(obj.metadata.name));
        }, (err) => {
          if (err instanceof WatchExpiredError) resumed = 'relisted';
        });
        for (let i = 0; i < 50 && [...acknowledged.keys()].some((n) => !seen.has(n)); i++) await new Promise((r) => setTimeout(r, 100));
        handle.stop();
      } catch (err) {
        if (!(err instanceof WatchExpiredError)) throw err;
        resumed = 'relisted';
      }
      if (resumed === 'relisted') for (const item of (await again.list(RESOURCES.containers)).items) seen.add(String(item.metadata.name));
      expect([...acknowledged.keys()].filter((n) => !seen.has(n))).toEqual([]);
    } finally {
      again.close();
      await second.kill('SIGTERM');
    }
  });
});
