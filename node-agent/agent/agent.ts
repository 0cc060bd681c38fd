import { performance } from 'node:perf_hooks';
import { ApiClient, Container, isAlreadyExistsError, isConflictError, isNotFoundError, KubeObject, RESOURCES } from '../../client';
import { Informer, keyOf, listWatcherFor } from '../../controllers/runtime';
import type { ContainerRuntime } from '../runtime/types';
import type { SecretVolumes } from '../secrets';
import { AGENT_FINALIZER, ApiStatusReporter } from './api-reporter';
import { nodeStatus } from './node-status';
import type { BackOffOptions } from './restart-policy';
import { StartTimings } from './start-timing';
import { ContainerSupervisor } from './supervisor';
import type { ContainerObject, ImageProvider, LogProvider, NetworkProvider } from './types';

export const NODE_LEASE_NAMESPACE = 'berth-node-lease';
/** Where the API server finds this agent's endpoint (api/server/node-proxy.ts reads it). */
export const AGENT_SOCKET_ANNOTATION = 'berth.dev/agent-socket';
export const AGENT_VERSION = '0.1.0';

export interface NodeAgentOptions {
  readonly client: ApiClient;
  readonly nodeName: string;
  /** Bundles and agent state. */
  readonly stateDir: string;
  readonly runtime: ContainerRuntime;
  readonly images: ImageProvider;
  readonly network: NetworkProvider;
  readonly logs: LogProvider;
  readonly secrets?: SecretVolumes;
  /** Resolves once no proxy sends the Container traffic any more; the supervisor stops a deleted Container only then. */
  readonly drain?: (c: ContainerObject) => Promise<unknown>;
  readonly backoff?: BackOffOptions;
  /** The agent endpoint's unix socket, published on the Node for the API server's log and stats proxy. */
  readonly agentSocket?: string;
  /** Lease renewal period; the Lease lasts four of these. */
  readonly heartbeatMs?: number;
  /** Node-level parts that live as long as the agent (the network provider's watch, the service proxies). */
  readonly parts?: readonly AgentPart[];
}

export interface AgentPart {
  start(): Promise<void>;
  /** Stops watching; like the agent's own stop, leaves containers and their networking in place. */
  stop(): void;
}

/**
 * The node agent: registers its Node, renews its Lease, and runs exactly the Containers bound to it through one
 * ContainerSupervisor each. Stopping the agent leaves containers running; a new agent re-adopts them (live-restore).
 */
export class NodeAgent {
  private readonly supervisors = new Map<string, ContainerSupervisor>();
  private readonly informer: Informer<Container>;
  private readonly reporter: ApiStatusReporter;
  /** performance.now() when a Container was first seen bound here, until its supervisor starts. */
  private readonly seenAt = new Map<string, number>();
  private heartbeat?: NodeJS.Timeout;
  /** Start phase durations, for the agent's /metrics. */
  readonly startTimings = new StartTimings();

  constructor(private readonly opts: NodeAgentOptions) {
    this.reporter = new ApiStatusReporter(opts.client, opts.nodeName);
    this.informer = new Informer(listWatcherFor<Container>(opts.client, RESOURCES.containers, { fieldSelector: `spec.nodeName=${opts.nodeName}` }));
    this.informer.addHandlers({
      onAdd: (c) => void this.sync(c).catch((err) => this.logError(c, err)),
      onUpdate: (_old, c) => void this.sync(c).catch((err) => this.logError(c, err)),
      onDelete: (c) => this.forget(c),
    });
  }

  async start(): Promise<void> {
    await this.register();
    await this.renewLease();
    for (const part of this.opts.parts ?? []) await part.start();
    const every = this.opts.heartbeatMs ?? 10_000;
    this.heartbeat = setInterval(() => {
      void this.renewLease().catch(() => undefined);
      void this.opts.secrets?.refresh();
    }, every);
    this.heartbeat.unref();
    this.informer.start();
    await this.informer.waitForSync();
    await this.removeOrphans();
  }

  /** Stops watching and heartbeating; containers keep running (live-restore). */
  stop(): void {
    clearInterval(this.heartbeat);
    this.informer.stop();
    for (const part of this.opts.parts ?? []) part.stop();
    for (const s of this.supervisors.values()) s.detach();
    this.supervisors.clear();
  }

  /** The runtime the agent's containers run under (exec sessions use it too). */
  get runtime(): ContainerRuntime {
    return this.opts.runtime;
  }

  /** Every supervised container: its runtime id and what its supervisor knows. */
  containers(): Array<ReturnType<ContainerSupervisor['snapshot']> & { id: string }> {
    return [...this.supervisors.values()].map((s) => ({ id: s.id, ...s.snapshot() }));
  }

  private async sync(c: Container): Promise<void> {
    const obj = c as unknown as ContainerObject;
    const key = keyOf(c);
    const existing = this.supervisors.get(key);
    if (existing) return existing.update(obj);
    const ours = c.metadata.finalizers?.includes(AGENT_FINALIZER) ?? false;
    if (c.metadata.deletionTimestamp && !ours) return;
    if (!this.seenAt.has(key)) this.seenAt.set(key, performance.now());
    if (!ours) {
      // The finalizer keeps the object until the node has removed the cgroup, mounts and network of the container.
      let finalized: Container;
      try {
        finalized = await this.opts.client.patch<Container>(
          RESOURCES.containers,
          c.metadata.name!,
          { metadata: { finalizers: [...(c.metadata.finalizers ?? []), AGENT_FINALIZER], resourceVersion: c.metadata.resourceVersion } },
          { namespace: c.metadata.namespace },
        );
      } catch (err) {
        if (isNotFoundError(err)) this.seenAt.delete(key);
        if (isConflictError(err) || isNotFoundError(err)) return;
        throw err;
      }
      // Supervised from the patch's answer, not after its watch event comes back (whichever is first starts it;
      // a supervisor already started is not handed this answer, which may be older than what it has seen). An
      // answer that arrives after the object was deleted and released (or re-created) starts nothing: it would run
      // a container no object accounts for.
      if (this.supervisors.has(key)) return;
      if (this.informer.get(key)?.metadata.uid !== finalized.metadata.uid) return void this.seenAt.delete(key);
      return this.sync(finalized);
    }
    const seenAt = this.seenAt.get(key);
    this.seenAt.delete(key);
    if (seenAt !== undefined) this.startTimings.observePhase('admit', (performance.now() - seenAt) / 1000);
    const s = new ContainerSupervisor(
      {
        runtime: this.opts.runtime,
        images: this.opts.images,
        network: this.opts.network,
        logs: this.opts.logs,
        secrets: this.opts.secrets,
        drain: this.opts.drain,
        reporter: this.reporter,
        stateDir: this.opts.stateDir,
        backoff: this.opts.backoff,
        timings: this.startTimings,
        seenAt,
      },
      obj,
    );
    this.supervisors.set(key, s);
    void s.start().finally(() => {
      if (this.supervisors.get(key) === s && obj.metadata.deletionTimestamp) this.supervisors.delete(key);
    });
  }

  private forget(c: Container): void {
    const key = keyOf(c);
    this.seenAt.delete(key);
    const s = this.supervisors.get(key);
    if (!s) return;
    // Deleted without our finalizer having run (e.g. force-removed): stop what runs for it.
    s.update({ ...(c as unknown as ContainerObject), metadata: { ...(c as unknown as ContainerObject).metadata, deletionTimestamp: new Date().toISOString() } });
    void s.finished().then(() => this.supervisors.delete(key));
  }

  /**
   * Runtime containers (and secret volumes) of this agent that no bound Container accounts for (deleted while the
   * agent was down). Decided per container at the time of removal: a Container bound while the agent started may
   * have had its container created by its supervisor after any list of wanted ids was taken.
   */
  private async removeOrphans(): Promise<void> {
    const accountedFor = (id: string) => {
      const key = id.replace('.', '/'); // runtime ids are namespace.name (supervisor.ts runtimeIdOf); a namespace has no dot
      return this.informer.get(key) !== undefined || this.supervisors.has(key);
    };
    for (const state of await this.opts.runtime.list()) {
      if (accountedFor(state.id)) continue;
      await this.opts.runtime.delete(state.id, { force: true }).catch(() => undefined);
      await this.opts.images.releaseRootfs(state.id).catch(() => undefined);
    }
    for (const id of this.opts.secrets?.held() ?? []) if (!accountedFor(id)) await this.opts.secrets?.release(id);
  }

  private async register(): Promise<void> {
    const { client, nodeName } = this.opts;
    try {
      await client.create(RESOURCES.nodes, { metadata: { name: nodeName, labels: { 'kubernetes.io/hostname': nodeName } }, spec: {} });
    } catch (err) {
      if (!isAlreadyExistsError(err)) throw err;
    }
    if (this.opts.agentSocket) {
      await client.patch(RESOURCES.nodes, nodeName, { metadata: { annotations: { [AGENT_SOCKET_ANNOTATION]: this.opts.agentSocket } } });
    }
    await client.patch(RESOURCES.nodes, nodeName, { status: nodeStatus(AGENT_VERSION) }, { subresource: 'status' });
    try {
      await client.create(RESOURCES.namespaces, { metadata: { name: NODE_LEASE_NAMESPACE } });
    } catch (err) {
      if (!isAlreadyExistsError(err)) throw err;
    }
  }

  private async renewLease(): Promise<void> {
    const { client, nodeName } = this.opts;
    const spec = { holderIdentity: nodeName, leaseDurationSeconds: Math.ceil(((this.opts.heartbeatMs ?? 10_000) * 4) / 1000), renewTime: new Date().toISOString() };
    try {
      await client.patch(RESOURCES.leases, nodeName, { spec }, { namespace: NODE_LEASE_NAMESPACE });
    } catch (err) {
      if (!isNotFoundError(err)) throw err;
      await client.create<KubeObject>(RESOURCES.leases, { metadata: { name: nodeName, namespace: NODE_LEASE_NAMESPACE }, spec });
    }
  }

  private logError(c: Container, err: unknown): void {
    console.error(JSON.stringify({ component: 'berth-agent', container: keyOf(c), err: (err as Error).message }));
  }
}
