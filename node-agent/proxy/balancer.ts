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

interface Slot {
  readonly endpoint: Endpoint;
  current: number;
}

/**
 * Smooth weighted round-robin (as nginx does it): over any window the picks follow the weights closely and an
 * endpoint is never picked in long bursts, so a 10% canary sees every tenth connection, not ten in a row.
 */
export class WeightedBalancer {
  private slots: Slot[] = [];
  private ids = new Set<string>();

  /** Replaces the rotation; an endpoint that stays keeps its place in the cycle. */
  set(endpoints: readonly Endpoint[]): void {
    const before = new Map(this.slots.map((s) => [s.endpoint.id, s.current]));
    this.slots = endpoints.filter((e) => e.weight > 0).map((endpoint) => ({ endpoint, current: before.get(endpoint.id) ?? 0 }));
    this.ids = new Set(this.slots.map((s) => s.endpoint.id));
  }

  /** The next endpoint, skipping `exclude` (endpoints that just failed a connect); undefined if none is left. */
  pick(exclude?: ReadonlySet<string>): Endpoint | undefined {
    let total = 0;
    let best: Slot | undefined;
    for (const s of this.slots) {
      if (exclude?.has(s.endpoint.id)) continue;
      s.current += s.endpoint.weight;
      total += s.endpoint.weight;
      if (!best || s.current > best.current) best = s;
    }
    if (!best) return undefined;
    best.current -= total;
    return best.endpoint;
  }

  /** Whether an endpoint other than `id` and outside `exclude` is in the rotation. */
  hasOther(id: string, exclude?: ReadonlySet<string>): boolean {
    return this.slots.some((s) => s.endpoint.id !== id && !exclude?.has(s.endpoint.id));
  }

  size(): number {
    return this.slots.length;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }
}
