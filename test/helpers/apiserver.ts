/**
 * Starts a real Berth API server in-process on a temp $BERTH_HOME and port 0 (HTTPS, real auth),
 * with a client that holds the admin credentials. `stop()` closes it and removes the temp directory.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { start, type RunningServer } from '../../api';
import { ApiClient, loadKubeconfig } from '../../client';
import { startEtcd, type EtcdInstance } from './etcd';

/** Both storage backends: suites run `describe.each(STORES)` so each backend passes the same API tests. */
export const STORES = ['sqlite', 'etcd'] as const;
export type StoreKind = (typeof STORES)[number];

export interface TestApiServer {
  readonly url: string;
  readonly home: string;
  readonly kubeconfigPath: string;
  readonly token: string;
  readonly client: ApiClient;
  readonly server: RunningServer;
  stop(): Promise<void>;
}

export interface TestApiServerOptions {
  readonly store?: 'sqlite' | 'etcd';
  /** With store 'etcd': the endpoints of a running etcd; without them a private etcd is started (and stopped by stop()). */
  readonly etcdEndpoints?: string[];
}

export const startApiServer = async (opts: TestApiServerOptions = {}): Promise<TestApiServer> => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-api-'));
  const etcd: EtcdInstance | undefined = opts.store === 'etcd' && !opts.etcdEndpoints ? await startEtcd() : undefined;
  const server = await start({
    home,
    port: 0,
    address: '127.0.0.1',
    store: opts.store ?? 'sqlite',
    etcdEndpoints: opts.etcdEndpoints ?? (etcd ? [etcd.endpoint] : undefined),
    etcdPrefix: `/berth-test-${path.basename(home)}`,
  });
  const client = new ApiClient(loadKubeconfig(server.kubeconfigPath));
  return {
    url: server.url,
    home,
    kubeconfigPath: server.kubeconfigPath,
    token: server.adminToken,
    client,
    server,
    stop: async () => {
      client.close();
      await server.close();
      await etcd?.stop();
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
};
