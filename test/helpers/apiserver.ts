/**
 * Starts a real Berth API server in-process on a temp $BERTH_HOME and port 0 (HTTPS, real auth),
 * with a client that holds the admin credentials. `stop()` closes it and removes the temp directory.
 */
import { spawn } from 'node:child_process';
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
  /** Key prefix in etcd; servers given the same endpoints and prefix serve one cluster. Default: unique per server. */
  readonly etcdPrefix?: string;
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
    etcdPrefix: opts.etcdPrefix ?? `/berth-test-${path.basename(home)}`,
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

export interface ApiServerProcess {
  readonly url: string;
  readonly kubeconfigPath: string;
  readonly pid: number;
  readonly exited: Promise<number | null>;
  /** Everything it printed so far (stdout and stderr): node's own warnings land there too. */
  output(): string;
  /** SIGKILL (crash) or SIGTERM (clean stop); resolves once the process is gone. */
  kill(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
}

/** Runs `berth apiserver` (the built dist/) as a child process on $BERTH_HOME=home and a free port (with `workers`: its primary). */
export const spawnApiServer = async (
  home: string,
  opts: { store?: StoreKind; etcdEndpoint?: string; port?: number; workers?: number } = {},
): Promise<ApiServerProcess> => {
  const main = path.resolve(__dirname, '../../cli/main.js');
  const script = fs.existsSync(main) ? main : path.resolve(__dirname, '../../dist/cli/main.js');
  // With the V8 flags bin/berth gives the real command.
  const args = ['--max-semi-space-size=64', script, 'apiserver', '--port', String(opts.port ?? 0), '--store', opts.store ?? 'sqlite'];
  if (opts.etcdEndpoint) args.push('--etcd-endpoints', opts.etcdEndpoint);
  if (opts.workers) args.push('--workers', String(opts.workers));
  const child = spawn(process.execPath, args, { env: { ...process.env, BERTH_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`berth apiserver did not start in 30 s: ${output}`)), 30_000);
    const onData = (d: Buffer): void => {
      output += d.toString();
      const m = /listening on (https:\/\/\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`berth apiserver exited with ${code}: ${output}`));
    });
  });
  return {
    url,
    kubeconfigPath: path.join(home, 'admin.kubeconfig'),
    pid: child.pid ?? 0,
    exited,
    output: () => output,
    kill: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
};
