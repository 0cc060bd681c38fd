/** The client's listAndWatch survives the API server restarting: it resumes from the last resourceVersion it saw. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApiClient, RESOURCES, listAndWatch, loadKubeconfig, type KubeObject } from '../../client';
import { spawnApiServer } from '../helpers/apiserver';

const waitFor = async (what: string, check: () => boolean): Promise<void> => {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
};

describe('client listAndWatch across a server restart', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-reflector-'));
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  it('When the server restarts, Then the reflector reconnects and sees later changes without losing any', async () => {
    const first = await spawnApiServer(home);
    const port = Number(new URL(first.url).port);
    const client = new ApiClient(loadKubeconfig(first.kubeconfigPath));
    await client.create(RESOURCES.containers, { metadata: { name: 'before' }, spec: { image: 'busybox' } });
    const seen: string[] = [];
    let synced: string[] = [];
    const reflector = listAndWatch<KubeObject>(client, RESOURCES.containers, { minBackoffMs: 100, maxBackoffMs: 500 }, {
      onSync: (items) => (synced = items.map((i) => String(i.metadata.name))),
      onEvent: (type, obj) => seen.push(`${type}:${obj.metadata.name}`),
    });
    let second: Awaited<ReturnType<typeof spawnApiServer>> | undefined;
    try {
      await reflector.synced;
      expect(synced).toEqual(['before']);
      await client.create(RESOURCES.containers, { metadata: { name: 'during' }, spec: { image: 'busybox' } });
      await waitFor('the first event', () => seen.includes('ADDED:during'));
      await first.kill('SIGTERM');
      second = await spawnApiServer(home, { port });
      await client.create(RESOURCES.containers, { metadata: { name: 'after' }, spec: { image: 'busybox' } });
      await waitFor('the event after the restart', () => seen.includes('ADDED:after'));
      expect(seen).toEqual(['ADDED:during', 'ADDED:after']);
    } finally {
      reflector.stop();
      client.close();
      await second?.kill('SIGTERM');
      await first.kill('SIGTERM');
    }
  });
});
