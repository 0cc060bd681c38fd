import { ApiClient, BerthNode, Container, isConflictError, isNotFoundError, parseBytes, parseCpuMillis, RESOURCES } from '../../client';
import { Controller, EventRecorder, Informer, isConditionTrue, keyOf, listWatcherFor, Result, splitKey, TerminalError } from '../runtime';
import { AGENT_FINALIZER } from '../../node-agent/agent/api-reporter';
import { chooseNode, Demand, NodeView, Usage } from './placement';

const FINISHED = new Set(['Succeeded', 'Failed']);
/** How often an unschedulable container is looked at again even if no node changes. */
const RETRY_UNSCHEDULABLE_MS = 5000;

/**
 * Binds Containers with an empty `spec.nodeName` to a Ready node with room (chooseNode), through the API like any
 * other client. Node changes requeue every unscheduled container, so a container waits for capacity rather than failing.
 * As kube-scheduler does, placement is decided one container at a time and the bind is written in the background:
 * the chosen node counts the container as placed ("assumed") until the bind shows in the cache or fails, so a
 * burst of creates is placed at the speed of the decision, not of one API round trip after another.
 */
export class Scheduler {
  readonly containers: Informer<Container>;
  readonly nodes: Informer<BerthNode>;
  private readonly controller: Controller;
  private readonly events: EventRecorder;
  /** Containers whose bind is in flight, with the node chosen and what they ask of it. */
  private readonly assumed = new Map<string, { node: string; demand: Demand }>();

  constructor(private readonly client: ApiClient) {
    this.containers = new Informer(listWatcherFor<Container>(client, RESOURCES.containers));
    this.nodes = new Informer(listWatcherFor<BerthNode>(client, RESOURCES.nodes));
    this.events = new EventRecorder(client, 'berth-scheduler');
    this.controller = new Controller({ name: 'scheduler', reconcile: (key) => this.reconcile(key), workers: 1 });
    this.containers.addHandlers({
      onAdd: (c) => this.enqueueIfUnscheduled(c),
      onUpdate: (_old, c) => {
        if (c.spec?.nodeName) this.assumed.delete(keyOf(c));
        this.enqueueIfUnscheduled(c);
      },
      onDelete: (c) => this.assumed.delete(keyOf(c)),
    });
    this.nodes.addHandlers({ onAdd: () => this.enqueueAllUnscheduled(), onUpdate: () => this.enqueueAllUnscheduled() });
  }

  async start(): Promise<void> {
    this.containers.start();
    this.nodes.start();
    await Promise.all([this.containers.waitForSync(), this.nodes.waitForSync()]);
    this.controller.start();
  }

  async stop(): Promise<void> {
    this.containers.stop();
    this.nodes.stop();
    await this.controller.stop();
  }

  private enqueueIfUnscheduled(c: Container): void {
    if (!c.spec?.nodeName && !c.metadata.deletionTimestamp) this.controller.enqueue(keyOf(c));
  }

  private enqueueAllUnscheduled(): void {
    for (const c of this.containers.list()) this.enqueueIfUnscheduled(c);
  }

  async reconcile(key: string): Promise<Result> {
    const c = this.containers.get(key);
    if (!c || c.spec.nodeName || c.metadata.deletionTimestamp || this.assumed.has(key)) return {};
    const demand = demandOf(c);
    const placement = chooseNode(demand, this.nodes.list().map(nodeViewOf), this.usage());
    if ('reason' in placement) {
      await this.events.record(c, 'Warning', 'FailedScheduling', placement.reason).catch(() => undefined);
      return { requeueAfter: RETRY_UNSCHEDULABLE_MS };
    }
    this.assumed.set(key, { node: placement.node, demand });
    void this.bind(key, c, placement.node);
    return {};
  }

  /** Writes the placement; a failure forgets it (and a transient one tries again with back-off). */
  private async bind(key: string, c: Container, node: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    try {
      // The resourceVersion makes the bind a compare-and-swap: a container changed meanwhile is looked at again.
      // The node agent's finalizer comes with the bind (the agent would add it before starting anything): the
      // container reaches the agent ready to start, one write and one watch round trip sooner.
      const finalizers = [...new Set([...(c.metadata.finalizers ?? []), AGENT_FINALIZER])];
      await this.client.patch(RESOURCES.containers, name, { metadata: { resourceVersion: c.metadata.resourceVersion, finalizers }, spec: { nodeName: node } }, { namespace });
    } catch (err) {
      this.assumed.delete(key);
      if (isNotFoundError(err)) return;
      // A conflict: the newer version's watch event brings the container back (unless it is bound by now).
      if (!isConflictError(err)) {
        console.error(JSON.stringify({ controller: 'scheduler', msg: 'bind failed, will retry', key, node, err: (err as Error).message }));
        this.controller.queue.addRateLimited(key);
      }
      return;
    }
    // The bind itself says as much: the Event waits until binds quieten down.
    this.events.recordLater(c, 'Normal', 'Scheduled', `assigned ${namespace}/${name} to ${node}`);
  }

  private usage(): Map<string, Usage> {
    const usage = new Map<string, Usage>();
    const count = (node: string, demand: () => Demand) => {
      let u = usage.get(node);
      if (!u) usage.set(node, (u = { cpuMillis: 0, memoryBytes: 0, pids: 0, containers: 0 }));
      try {
        const d = demand();
        u.cpuMillis += d.cpuMillis;
        u.memoryBytes += d.memoryBytes;
        u.pids += d.pids;
      } catch {
        // Already running with limits we cannot parse: it still counts as a container.
      }
      u.containers++;
    };
    for (const c of this.containers.list()) {
      const node = c.spec.nodeName;
      if (node && !FINISHED.has(String(c.status?.phase))) count(node, () => demandOf(c));
    }
    for (const [key, { node, demand }] of this.assumed) if (!this.containers.get(key)?.spec.nodeName) count(node, () => demand);
    return usage;
  }
}

/** What a container asks for: its limits (Berth schedules on limits; there are no separate requests). */
export function demandOf(c: Container): Demand {
  const limits = c.spec.resources?.limits ?? {};
  try {
    return {
      cpuMillis: limits.cpu !== undefined ? parseCpuMillis(limits.cpu) : 0,
      memoryBytes: limits.memory !== undefined ? parseBytes(limits.memory) : 0,
      pids: limits.pids ?? 0,
      nodeSelector: c.spec.nodeSelector as Record<string, string> | undefined,
    };
  } catch (err) {
    throw new TerminalError(`container ${keyOf(c)}: spec.resources.limits: ${(err as Error).message}`, { cause: err });
  }
}

export function nodeViewOf(n: BerthNode): NodeView {
  const alloc = (n.status?.allocatable ?? n.status?.capacity ?? {}) as { cpu?: string | number; memory?: string | number; pids?: string | number };
  return {
    name: n.metadata.name ?? '',
    ready: isConditionTrue(n.status?.conditions, 'Ready'),
    unschedulable: n.spec?.unschedulable === true,
    labels: n.metadata.labels ?? {},
    allocatable: {
      cpuMillis: alloc.cpu !== undefined ? parseCpuMillis(alloc.cpu) : 0,
      memoryBytes: alloc.memory !== undefined ? parseBytes(alloc.memory) : 0,
      pids: alloc.pids !== undefined ? Number(alloc.pids) : 0,
    },
  };
}
