import * as os from 'node:os';
import * as path from 'node:path';
import { ApiClient } from '../client';
import { FileLogProvider, NodeAgent, StoreImageProvider, type ContainerObject } from './agent';
import { ImageController } from './agent/image-controller';
import { ApiNetworkProvider } from './agent/network-provider';
import { ServiceProxies } from './agent/service-proxies';
import { ImageStore } from './images/store';
import { NodeNetworking, OverlayPeers } from './network';
import { BerthRuntime } from './runtime';
import { ApiSecretSource, SecretVolumes } from './secrets';

export interface AgentProcessOptions {
  readonly client: ApiClient;
  /** $BERTH_HOME: images, logs and agent state live below it. */
  readonly home: string;
  readonly nodeName?: string;
  /** The agent endpoint's socket, published on the Node for the API server's proxy. */
  readonly agentSocket?: string;
  /** This node's underlay address for overlay Networks (VXLAN); `$BERTH_VTEP_ADDRESS` (and `$BERTH_VTEP_DEVICE`) unless set. */
  readonly vtepAddress?: string;
}

/** A drain waits for in-flight requests at most the grace period, and never more than 10 s. */
const drainTimeoutMs = (c: ContainerObject): number => Math.min(c.spec.terminationGracePeriodSeconds ?? 30, 10) * 1000;

/** The node agent with this machine's real parts: Berth's runtime, the image store, bridges and DNS,
 * the service proxy on published ports, per-run log files. */
export async function startAgent(opts: AgentProcessOptions): Promise<NodeAgent> {
  const state = path.join(opts.home, 'node');
  const nodeName = opts.nodeName ?? os.hostname().toLowerCase();
  const networking = new NodeNetworking();
  const vtepAddress = opts.vtepAddress ?? process.env.BERTH_VTEP_ADDRESS;
  const overlayPeers = vtepAddress ? new OverlayPeers({ client: opts.client, nodeName, localAddress: vtepAddress, underlayDevice: process.env.BERTH_VTEP_DEVICE }) : undefined;
  const network = new ApiNetworkProvider({ client: opts.client, networking, nodeName, etcRoot: path.join(state, 'network'), overlayPeers });
  const proxies = new ServiceProxies({ client: opts.client, networking, networkKeyOf: (ns, name) => network.networkKeyOf(ns, name) });
  const runtime = new BerthRuntime({ root: path.join(state, 'runtime') });
  const store = new ImageStore({ root: path.join(opts.home, 'images') });
  // Images are node-local: each agent runs the Image controller for its own store.
  const images = new ImageController({ client: opts.client, nodeName, store, runtime });
  const agent = new NodeAgent({
    client: opts.client,
    nodeName,
    agentSocket: opts.agentSocket,
    stateDir: state,
    runtime,
    images: new StoreImageProvider(store, { imageObjects: (ns, name) => images.lookup(ns, name) }),
    network,
    parts: [network, proxies, images],
    logs: new FileLogProvider(path.join(opts.home, 'logs')),
    secrets: new SecretVolumes(path.join(state, 'secrets'), new ApiSecretSource(opts.client)),
    drain: (c) => proxies.drained(c.metadata.namespace, c.metadata.name, drainTimeoutMs(c)),
  });
  await agent.start();
  return agent;
}
