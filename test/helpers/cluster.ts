/**
 * A one-node cluster in the test process: a real API server (temp $BERTH_HOME, port 0), the scheduler, the
 * service controller, the network controller and a node agent running real containers with Berth's runtime,
 * a temp image store and real bridges (default Networks get subnets from a /24 reserved for this cluster).
 * `stop()` deletes every Container and Network, waits until the agent has cleaned up, and removes all temp state.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Container, RESOURCES } from '../../client';
import { NetworkController, type SubnetPool } from '../../controllers/network';
import { Scheduler } from '../../controllers/scheduler';
import { ServiceController } from '../../controllers/service';
import { FileLogProvider, NodeAgent, StoreImageProvider } from '../../node-agent/agent';
import { ImageController, type ImageControllerOptions } from '../../node-agent/agent/image-controller';
import { ApiNetworkProvider } from '../../node-agent/agent/network-provider';
import { ServiceProxies } from '../../node-agent/agent/service-proxies';
import { bridgeName, listBerthResources, NodeNetworking, resourcesNamed } from '../../node-agent/network';
import { contains, parseCidr, parseIpv4 } from '../../node-agent/network/cidr';
import { runChecked } from '../../node-agent/network/command';
import { pickFreeSubnets, releaseSubnets } from '../../node-agent/network/testing';
import type { BackOffOptions } from '../../node-agent/agent/restart-policy';
import { ImageStore } from '../../node-agent/images/store';
import { BerthRuntime } from '../../node-agent/runtime';
import { ApiSecretSource, SecretVolumes } from '../../node-agent/secrets';
import { startApiServer, TestApiServer } from './apiserver';

export interface TestCluster {
  readonly api: TestApiServer;
  readonly agent: NodeAgent;
  readonly runtime: BerthRuntime;
  readonly nodeName: string;
  readonly logs: FileLogProvider;
  /** The node's image store (the agent's and its Image controller's). */
  readonly images: ImageStore;
  readonly networking: NodeNetworking;
  /** A new agent process-equivalent on the same state, with fresh networking state (live-restore tests). */
  restartAgent(): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  readonly backoff?: BackOffOptions;
  /** Where default Networks get their subnets; a free 10.213.X.0/24 in /26 blocks (61 addresses each) unless set. */
  readonly networkPool?: SubnetPool;
  /** Re-pull period and failure back-off of the node's Image controller. */
  readonly imageController?: Pick<ImageControllerOptions, 'repullIntervalMs' | 'backoff' | 'progressIntervalMs'>;
  /** Size rotation of the containers' logs (FileLogProvider). */
  readonly logRotation?: { readonly maxBytes?: number; readonly maxFiles?: number };
}

export async function startCluster(opts: ClusterOptions = {}): Promise<TestCluster> {
  const reserved = opts.networkPool ? [] : await pickFreeSubnets(1);
  const pool = opts.networkPool ?? { cidr: reserved[0], prefixLength: 26 };
  const api = await startApiServer();
  const state = path.join(api.home, 'node');
  const runtime = new BerthRuntime({ root: path.join(state, 'runtime') });
  const store = new ImageStore({ root: path.join(state, 'images') });
  const logs = new FileLogProvider(path.join(state, 'logs'), opts.logRotation);
  const nodeName = `berth-test-${path.basename(api.home).slice(-6).toLowerCase()}`;
  let networking = new NodeNetworking();
  const makeAgent = () => {
    const network = new ApiNetworkProvider({ client: api.client, networking, nodeName, etcRoot: path.join(state, 'network') });
    const proxies = new ServiceProxies({ client: api.client, networking, networkKeyOf: (ns, name) => network.networkKeyOf(ns, name), trafficReportMs: 500 });
    const imageController = new ImageController({ client: api.client, nodeName, store, runtime, ...opts.imageController });
    return new NodeAgent({
      client: api.client,
      nodeName,
      stateDir: state,
      runtime,
      images: new StoreImageProvider(store, { imageObjects: (ns, name) => imageController.lookup(ns, name) }),
      network,
      parts: [network, proxies, imageController],
      drain: (c) => proxies.drained(c.metadata.namespace, c.metadata.name, Math.min(c.spec.terminationGracePeriodSeconds ?? 30, 10) * 1000),
      logs,
      secrets: new SecretVolumes(path.join(state, 'secrets'), new ApiSecretSource(api.client)),
      backoff: opts.backoff ?? { initialMs: 200, maxMs: 1000, resetAfterMs: 60_000 },
      heartbeatMs: 1000,
    });
  };
  let agent = makeAgent();
  const scheduler = new Scheduler(api.client);
  const services = new ServiceController(api.client);
  const networks = new NetworkController(api.client, { pool });
  await agent.start();
  await scheduler.start();
  await services.start();
  await networks.start();
  const cluster = {
    api,
    get agent() {
      return agent;
    },
    runtime,
    nodeName,
    logs,
    images: store,
    get networking() {
      return networking;
    },
    async restartAgent() {
      agent.stop();
      // A new process starts with empty networking state: DNS servers and published ports end with the old one.
      await networking.close();
      networking = new NodeNetworking();
      agent = makeAgent();
      await agent.start();
    },
    async stop() {
      await services.stop();
      await scheduler.stop();
      const all = await api.client.list<Container>(RESOURCES.containers, { namespace: '' });
      await Promise.all(all.items.map((c) => api.client.delete(RESOURCES.containers, c.metadata.name!, { namespace: c.metadata.namespace }).catch(() => undefined)));
      let end = Date.now() + 30_000;
      while ((await api.client.list(RESOURCES.containers, { namespace: '' })).items.length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      // Networks go once no Container uses them (finalizer); the agent then removes their bridges.
      end = Date.now() + 30_000;
      const nets = await api.client.list(RESOURCES.networks, { namespace: '' });
      await Promise.all(nets.items.map((n) => api.client.delete(RESOURCES.networks, n.metadata.name!, { namespace: n.metadata.namespace }).catch(() => undefined)));
      while ((await api.client.list(RESOURCES.networks, { namespace: '' })).items.length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      const bridges = nets.items.map((n) => bridgeName(n.metadata.uid!));
      while (resourcesNamed(await listBerthResources(), bridges).length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      await networks.stop();
      agent.stop();
      await networking.close();
      await removeStrayBridges(pool.cidr);
      releaseSubnets(reserved);
      for (const s of await runtime.list()) await runtime.delete(s.id, { force: true }).catch(() => undefined);
      await api.stop();
      fs.rmSync(state, { recursive: true, force: true });
    },
  };
  return cluster as TestCluster;
}

/**
 * Bridges of this cluster's pool still on the host after the agent stopped (a Network whose removal outlasted the
 * waits above, under a loaded machine): removed so the pool stays usable, and named on stderr so the leak is seen.
 */
async function removeStrayBridges(poolCidr: string): Promise<void> {
  const pool = parseCidr(poolCidr, 'networkPool.cidr');
  const links = JSON.parse((await runChecked(['ip', '-j', '-4', 'addr', 'show', 'type', 'bridge'])).stdout) as { ifname?: string; addr_info?: { local: string }[] }[];
  const strays = links.filter((l) => l.ifname?.startsWith('berth-br-') && (l.addr_info ?? []).some((a) => contains(pool, parseIpv4(a.local, 'address'))));
  for (const link of strays) {
    console.warn(`test cluster: bridge ${link.ifname} of pool ${poolCidr} outlived the cluster; removing it`);
    await runChecked(['ip', 'link', 'del', link.ifname!]);
  }
}
