/** `berth up` / `berth apiserver`: run the API server in the foreground until SIGINT/SIGTERM. */
import type { Command } from 'commander';
import type { ApiEndpoint } from '../../api';
import { ApiClient, loadKubeconfig } from '../../client';
import { claimHome, releaseHome } from './down';
import { startNodeAndControllers, type RunningNode } from './node';

interface UpOptions {
  /** `berth up` also runs the controllers and a node agent in-process; `--no-node` (and `berth apiserver`) do not. */
  node?: boolean;
  port: string;
  address: string;
  store: 'sqlite' | 'etcd';
  etcdEndpoints?: string;
  nodeCertDays?: string;
  workers: string;
}

const runServer = async (opts: UpOptions, withNode: boolean): Promise<void> => {
  if (opts.store !== 'sqlite' && opts.store !== 'etcd') throw new Error(`--store must be sqlite or etcd, not "${String(opts.store)}"`);
  // Loaded here, not at the top: every other command (agent, runtime, get...) would otherwise pay for the server's
  // modules (express, etcd, SQLite) in start-up time and memory.
  const { checkWorkerCount, defaultHome, serve } = require('../../api') as typeof import('../../api');
  const workers = Number(opts.workers);
  checkWorkerCount(opts.store, workers);
  const home = defaultHome();
  claimHome(home);
  const server = await serve({
    workers,
    home,
    port: Number(opts.port),
    address: opts.address,
    store: opts.store,
    etcdEndpoints: opts.etcdEndpoints?.split(','),
    nodeCertificateDays: opts.nodeCertDays === undefined ? undefined : positiveDays(opts.nodeCertDays),
  });
  console.log(`berth: API server listening on ${server.url} (store: ${opts.store}, home: ${home}, ${workers} process${workers > 1 ? 'es' : ''})`);
  console.log(`berth: admin kubeconfig: ${server.kubeconfigPath}`);
  const client = withNode ? new ApiClient(loadKubeconfig(server.kubeconfigPath)) : undefined;
  const node: RunningNode | undefined = client ? await startNodeAndControllers(client, home) : undefined;
  if (node) console.log('berth: controllers and node agent running');
  console.log(`berth: try: kubectl --kubeconfig ${server.kubeconfigPath} get containers`);
  const stop = (signal: string): void => {
    console.log(`berth: ${signal}: shutting down`);
    shutdown(home, server, node, client).then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('berth: shutdown failed:', err);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
};

/** Stops in dependency order: agent and controllers first (containers keep running: live-restore), then the server. */
const shutdown = async (home: string, server: ApiEndpoint, node?: RunningNode, client?: ApiClient): Promise<void> => {
  await node?.stop();
  client?.close();
  await server.close();
  releaseHome(home);
};

const serverOptions = (cmd: Command): Command =>
  cmd
    .option('--port <port>', 'HTTPS port', '6443')
    .option('--address <address>', 'address to listen on', '127.0.0.1')
    .option('--store <store>', 'sqlite (embedded, default) or etcd', 'sqlite')
    .option('--etcd-endpoints <urls>', 'comma-separated etcd URLs (with --store etcd)', 'http://127.0.0.1:2379')
    .option('--node-cert-days <days>', 'validity of the certificates joining nodes get (default 90; they renew at two thirds of it)')
    .option('--workers <n>', 'API server processes sharing the port (more than 1 needs --store etcd; one process uses one core)', '1');

const positiveDays = (days: string): number => {
  const n = Number(days);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--node-cert-days must be a positive number of days, not "${days}"`);
  return n;
};

export const registerUpCommands = (program: Command): void => {
  serverOptions(program.command('up').description('start a single-node cluster: API server, controllers and a node agent (state under $BERTH_HOME)'))
    .option('--no-node', 'run only the API server and nothing else')
    .action((opts: UpOptions) => runServer(opts, opts.node !== false));
  serverOptions(program.command('apiserver').description('run only the API server')).action((opts: UpOptions) => runServer(opts, false));
};
