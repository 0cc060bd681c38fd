import { ApiClient, BerthNode, Container, isConflictError, isNotFoundError, parseBytes, parseCpuMillis, RESOURCES } from '../../client';
import { Controller, EventRecorder, Informer, isConditionTrue, keyOf, listWatcherFor, Result, splitKey, TerminalError } from '../runtime';
import { chooseNode, Demand, NodeView, Usage } from './placement';

const FINISHED = new Set(['Succeeded', 'Failed']);
/** How often an unschedulable container is looked at again even if no node changes. */
const RETRY_UNSCHEDULABLE_MS = 5000;

/**
 * Binds Containers with an empty `spec.nodeName` to a Ready node with room (chooseNode), through the API like any
 * other client. Node changes requeue every unscheduled container, so a container waits for capacity rather than failing.
 */
export class Scheduler {
  readonly containers: Informer<Container>;
  readonly nodes: Informer<BerthNode>;
  private readonly controller: Controller;
  private readonly events: EventRecorder;

  constructor(private readonly client: ApiClient) {
    this.containers = new Informer(listWatcherFor<Container>(client, RESOURCES.containers));
    this.nodes = new Informer(listWatcherFor<BerthNode>(client, RESOURCES.nodes));
    this.events = new EventRecorder(client, 'berth-scheduler');
    this.controller = new Controller({ name: 'scheduler', reconcile: (key) => this.reconcile(key), workers: 1 });
    this.containers.addHandlers({
      onAdd: (c) => this.enqueueIfUnscheduled(c),
      onUpdate: (_old, c) => this.enqueueIfUnscheduled(c),
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
    if (!c || c.spec.nodeName || c.metadata.deletionTimestamp) return {};
    const placement = chooseNode(demandOf(c), this.nodes.list().map(nodeViewOf), this.usage());
    if ('reason' in placement) {
      await this.events.record(c, 'Warning', 'FailedScheduling', placement.reason).catch(() => undefined);
      return { requeueAfter: RETRY_UNSCHEDULABLE_MS };
    }
    const { namespace, name } = splitKey(key);
    try {
      // The resourceVersion makes the bind a compare-and-swap: a container changed meanwhile is looked at again.
      await this.client.patch(RESOURCES.containers, name, { metadata: { resourceVersion: c.metadata.resourceVersion }, spec: { nodeName: placement.node } }, { namespace });
    } catch (err) {
      if (isNotFoundError(err) || isConflictError(err)) return {};
      throw err;
    }
    await this.events.record(c, 'Normal', 'Scheduled', `assigned ${namespace}/${name} to ${placement.node}`).catch(() => undefined);
    return {};
  }

  private usage(): Map<string, Usage> {
    const usage = new Map<string, Usage>();
    for (const c of this.containers.list()) {
      const node = c.spec.nodeName;
      if (!node || FINISHED.has(String(c.status?.phase))) continue;
      let u = usage.get(node);
      if (!u) usage.set(node, (u = { cpuMillis: 0, memoryBytes: 0, pids: 0, containers: 0 }));
      try {
        const d = demandOf(c);
        u.cpuMillis += d.cpuMillis;
        u.memoryBytes += d.memoryBytes;
        u.pids += d.pids;
      } catch {
        // Already running with limits we cannot parse: it still counts as a container.
      }
      u.containers++;
    }
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
