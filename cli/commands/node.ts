/**
 * The processes of a cluster besides the API server: `berth agent` (a node), `berth controllers` (the controller
 * manager), and `startNodeAndControllers`, which `berth up` runs in-process next to the API server.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { ApiClient } from '../../client';
import { startControllers, type RunningControllers } from '../../controllers/main';
import { startAgent } from '../../node-agent/main';
import { AgentServer } from '../../node-agent/server';
import { FileLogProvider } from '../../node-agent/agent';
import { clientFor, type GlobalOptions } from '../context';

export interface RunningNode {
  stop(): Promise<void>;
}

/** Home of all node state; the same default as the API server's. */
export const berthHome = (): string => process.env.BERTH_HOME ?? path.join(process.env.HOME ?? '/root', '.berth');

/** The node agent plus its endpoint (metrics, stats, logs) on `$BERTH_HOME/node/agent.sock`. */
export async function startNode(client: ApiClient, home: string, nodeName?: string): Promise<RunningNode> {
  const socketPath = path.join(home, 'node', 'agent.sock');
  const agent = await startAgent({ client, home, nodeName, agentSocket: socketPath });
  const logs = new FileLogProvider(path.join(home, 'logs'));
  const server = new AgentServer({ agent, socketPath, logDir: (ns, name) => logs.dirOf(ns, name) });
  await server.listen();
  return {
    async stop() {
      await server.close();
      agent.stop();
    },
  };
}

export async function startNodeAndControllers(client: ApiClient, home: string): Promise<RunningNode> {
  const controllers: RunningControllers = await startControllers(client);
  const node = await startNode(client, home);
  return {
    async stop() {
      await node.stop();
      await controllers.stop();
    },
  };
}

/** Runs until SIGINT/SIGTERM, then stops `running` (containers keep running: live-restore). */
function untilSignal(what: string, running: RunningNode, client: ApiClient): void {
  const stop = (signal: string) => {
    console.log(`berth: ${signal}: stopping the ${what}`);
    running.stop().then(
      () => {
        client.close();
        process.exit(0);
      },
      (err: unknown) => {
        console.error(`berth: stopping the ${what} failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

export const registerNodeCommands = (program: Command): void => {
  program
    .command('agent')
    .description('run the node agent: registers this machine as a Node and runs the Containers bound to it')
    .option('--node-name <name>', 'Node name (default: the hostname)')
    .option('--join <url>', 'API server to join as a node (https://host:port); authenticates with a node certificate instead of the kubeconfig')
    .option('--token <token>', 'join token from `berth token create` (BERTH-1-...), needed until the node holds a certificate')
    .action(async (opts: { nodeName?: string; join?: string; token?: string }, cmd: Command) => {
      if (opts.token && !opts.join) throw new Error('--token needs --join URL');
      const home = berthHome();
      const nodeName = opts.nodeName ?? os.hostname().toLowerCase();
      // Loaded only to join: it brings in api/auth, which other commands need not load.
      const identity = opts.join
        ? await (require('../node-identity') as typeof import('../node-identity')).joinAsNode({ server: opts.join, home, nodeName, token: opts.token })
        : undefined;
      const client = identity?.client ?? clientFor(cmd.optsWithGlobals<GlobalOptions>());
      const node = await startNode(client, home, nodeName);
      console.log(`berth: agent running as node ${nodeName}${identity ? ' (node certificate)' : ''} (state under ${home})`);
      const running: RunningNode = {
        async stop() {
          identity?.stop();
          await node.stop();
        },
      };
      untilSignal('agent', running, client);
    });
  program
    .command('controllers')
    .description('run the controller manager (scheduler, services) with leader election')
    .action(async (_opts: unknown, cmd: Command) => {
      const client = clientFor(cmd.optsWithGlobals<GlobalOptions>());
      const controllers = await startControllers(client);
      console.log('berth: controller manager running');
      untilSignal('controllers', controllers, client);
    });
};
