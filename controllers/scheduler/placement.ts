/** What a Container asks of a node. */
export interface Demand {
  readonly cpuMillis: number;
  readonly memoryBytes: number;
  readonly pids: number;
  readonly nodeSelector?: Readonly<Record<string, string>>;
}

/** A node as the scheduler sees it. */
export interface NodeView {
  readonly name: string;
  readonly ready: boolean;
  readonly unschedulable: boolean;
  readonly labels: Readonly<Record<string, string>>;
  /** Capacity left for containers; a 0 means "not limited". */
  readonly allocatable: { readonly cpuMillis: number; readonly memoryBytes: number; readonly pids: number };
}

export interface Usage {
  cpuMillis: number;
  memoryBytes: number;
  pids: number;
  containers: number;
}

export type Placement = { readonly node: string } | { readonly reason: string };

const EMPTY: Usage = { cpuMillis: 0, memoryBytes: 0, pids: 0, containers: 0 };

/**
 * Picks the node for one container: Ready, schedulable, matching its nodeSelector, with room for its limits;
 * among those the one running the fewest containers (spread), then the most free memory, then by name so the
 * choice is deterministic. When nothing fits, the reason says why for each node (the Container's event shows it).
 */
export function chooseNode(demand: Demand, nodes: readonly NodeView[], usage: ReadonlyMap<string, Usage>): Placement {
  if (nodes.length === 0) return { reason: 'no nodes are registered' };
  const rejected: string[] = [];
  const fitting: Array<{ node: NodeView; used: Usage }> = [];
  for (const node of nodes) {
    const used = usage.get(node.name) ?? EMPTY;
    const why = unfitReason(demand, node, used);
    if (why) rejected.push(`${node.name}: ${why}`);
    else fitting.push({ node, used });
  }
  if (fitting.length === 0) return { reason: `0/${nodes.length} nodes are available: ${rejected.join('; ')}` };
  fitting.sort(
    (a, b) =>
      a.used.containers - b.used.containers ||
      freeMemory(b.node, b.used) - freeMemory(a.node, a.used) ||
      a.node.name.localeCompare(b.node.name),
  );
  return { node: fitting[0].node.name };
}

function unfitReason(demand: Demand, node: NodeView, used: Usage): string | undefined {
  if (!node.ready) return 'node is not Ready';
  if (node.unschedulable) return 'node is unschedulable';
  for (const [k, v] of Object.entries(demand.nodeSelector ?? {})) {
    if (node.labels[k] !== v) return `node does not match nodeSelector ${k}=${v}`;
  }
  const a = node.allocatable;
  if (a.cpuMillis && used.cpuMillis + demand.cpuMillis > a.cpuMillis) return 'insufficient cpu';
  if (a.memoryBytes && used.memoryBytes + demand.memoryBytes > a.memoryBytes) return 'insufficient memory';
  if (a.pids && used.pids + demand.pids > a.pids) return 'insufficient pids';
  return undefined;
}

function freeMemory(node: NodeView, used: Usage): number {
  return node.allocatable.memoryBytes ? node.allocatable.memoryBytes - used.memoryBytes : Number.MAX_SAFE_INTEGER;
}
