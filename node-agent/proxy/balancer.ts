export interface Endpoint {
  /** Stable identity (the Container's name). */
  readonly id: string;
  readonly host: string;
  readonly port: number;
  /** Relative share of new connections; 0 takes the endpoint out of rotation. */
  readonly weight: number;
  /** The revision the endpoint belongs to, for per-revision statistics (canary analysis). */
  readonly group: string;
}

/**
 * Smooth weighted round-robin (as nginx does it): over any window the picks follow the weights closely and an
 * endpoint is never picked in long bursts, so a 10% canary sees every tenth connection, not ten in a row.
 */
export class WeightedBalancer {
  private current = new Map<string, number>();
  private endpoints: Endpoint[] = [];

  set(endpoints: readonly Endpoint[]): void {
    this.endpoints = endpoints.filter((e) => e.weight > 0);
    const ids = new Set(this.endpoints.map((e) => e.id));
    for (const id of this.current.keys()) if (!ids.has(id)) this.current.delete(id);
  }

  /** The next endpoint, skipping `exclude` (endpoints that just refused a connection); undefined if none is left. */
  pick(exclude: ReadonlySet<string> = new Set()): Endpoint | undefined {
    let total = 0;
    let best: Endpoint | undefined;
    let bestScore = -Infinity;
    for (const e of this.endpoints) {
      if (exclude.has(e.id)) continue;
      const score = (this.current.get(e.id) ?? 0) + e.weight;
      this.current.set(e.id, score);
      total += e.weight;
      if (score > bestScore) {
        bestScore = score;
        best = e;
      }
    }
    if (best) this.current.set(best.id, bestScore - total);
    return best;
  }

  size(): number {
    return this.endpoints.length;
  }

  has(id: string): boolean {
    return this.endpoints.some((e) => e.id === id);
  }
}
