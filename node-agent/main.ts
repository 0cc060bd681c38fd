import * as os from 'node:os';
import * as path from 'node:path';
import { ApiClient } from '../client';
import { FileLogProvider, NodeAgent, StoreImageProvider } from './agent';
import { ApiNetworkProvider } from './agent/network-provider';
import { ImageStore } from './images/store';
import { NodeNetworking } from './network';
import { BerthRuntime } from './runtime';
import { ApiSecretSource, SecretVolumes } from './secrets';

export interface AgentProcessOptions {
  readonly client: ApiClient;
  /** $BERTH_HOME: images, logs and agent state live below it. */
  readonly home: string;
  readonly nodeName?: string;
  /** The agent endpoint's socket, published on the Node for the API server's proxy. */
  readonly agentSocket?: string;
}

/** The node agent with this machine's real parts: Berth's runtime, the image store, bridges and DNS, per-run log files. */
export async function startAgent(opts: AgentProcessOptions): Promise<NodeAgent> {
  const state = path.join(opts.home, 'node');
  const network = new ApiNetworkProvider({ client: opts.client, networking: new NodeNetworking(), etcRoot: path.join(state, 'network') });
  const agent = new NodeAgent({
    client: opts.client,
    nodeName: opts.nodeName ?? os.hostname().toLowerCase(),
    agentSocket: opts.agentSocket,
    stateDir: state,
    runtime: new BerthRuntime({ root: path.join(state, 'runtime') }),
    images: new StoreImageProvider(new ImageStore({ root: path.join(opts.home, 'images') })),
    network,
    parts: [network],
    logs: new FileLogProvider(path.join(opts.home, 'logs')),
    secrets: new SecretVolumes(path.join(state, 'secrets'), new ApiSecretSource(opts.client)),
  });
  await agent.start();
  return agent;
}
