/** Request outcomes of one revision behind the proxy, for canary analysis (no Prometheus needed). */
export interface GroupStats {
  readonly requests: number;
  readonly errors: number;
  readonly errorRate: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
}

const WINDOW = 2048;

class Group {
  requests = 0;
  errors = 0;
  /** The last WINDOW latencies, a ring: recording is O(1), sorting waits for a snapshot. */
  readonly latencies = new Float64Array(WINDOW);
  timed = 0;
}

/** Keeps counts and a bounded window of latencies per group. */
export class ProxyStats {
  private readonly groups = new Map<string, Group>();

  record(group: string, ok: boolean, latencyMs?: number): void {
    let g = this.groups.get(group);
    if (!g) this.groups.set(group, (g = new Group()));
    g.requests++;
    if (!ok) g.errors++;
    if (latencyMs !== undefined) g.latencies[g.timed++ % WINDOW] = latencyMs;
  }

  snapshot(): Record<string, GroupStats> {
    const out: Record<string, GroupStats> = {};
    for (const [name, g] of this.groups) {
      const sorted = g.latencies.slice(0, Math.min(g.timed, WINDOW)).sort();
      const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : 0);
      out[name] = { requests: g.requests, errors: g.errors, errorRate: g.requests ? g.errors / g.requests : 0, latencyP50Ms: at(0.5), latencyP99Ms: at(0.99) };
    }
    return out;
  }

  reset(): void {
    this.groups.clear();
  }
}
