/** Request outcomes of one revision behind the proxy, for canary analysis (no Prometheus needed). */
export interface GroupStats {
  readonly requests: number;
  readonly errors: number;
  readonly errorRate: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
}

const WINDOW = 2048;

/** Keeps counts and a bounded window of latencies per group. */
export class ProxyStats {
  private readonly groups = new Map<string, { requests: number; errors: number; latencies: number[] }>();

  record(group: string, ok: boolean, latencyMs?: number): void {
    let g = this.groups.get(group);
    if (!g) this.groups.set(group, (g = { requests: 0, errors: 0, latencies: [] }));
    g.requests++;
    if (!ok) g.errors++;
    if (latencyMs !== undefined) {
      g.latencies.push(latencyMs);
      if (g.latencies.length > WINDOW) g.latencies.shift();
    }
  }

  snapshot(): Record<string, GroupStats> {
    const out: Record<string, GroupStats> = {};
    for (const [name, g] of this.groups) {
      const sorted = [...g.latencies].sort((a, b) => a - b);
      const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : 0);
      out[name] = { requests: g.requests, errors: g.errors, errorRate: g.requests ? g.errors / g.requests : 0, latencyP50Ms: at(0.5), latencyP99Ms: at(0.99) };
    }
    return out;
  }

  reset(): void {
    this.groups.clear();
  }
}
