import { Clock, realClock } from './types';

/** The fields of a coordination Lease the elector reads and writes. */
export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** Storage of one Lease; `update` must fail (throw) if `resourceVersion` is stale, so two candidates never both win. */
export interface LeaseLock {
  get(): Promise<{ spec: LeaseRecord; resourceVersion: string } | undefined>;
  create(spec: LeaseRecord): Promise<void>;
  update(spec: LeaseRecord, resourceVersion: string): Promise<void>;
}

export interface LeaderElectionOptions {
  readonly lock: LeaseLock;
  readonly identity: string;
  readonly leaseDurationMs?: number;
  readonly retryPeriodMs?: number;
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => void;
  readonly clock?: Clock;
}

/**
 * Leader election through a Lease, as client-go's leaderelection does: acquire when the lease is free or expired,
 * renew every retry period, and give up leadership as soon as a renewal cannot be written before the lease would expire.
 */
export class LeaderElector {
  private leading = false;
  private stopped = false;
  private timer?: { cancel(): void };
  private lastRenew = 0;
  private readonly clock: Clock;
  private readonly durationMs: number;
  private readonly retryMs: number;

  constructor(private readonly opts: LeaderElectionOptions) {
    this.clock = opts.clock ?? realClock;
    this.durationMs = opts.leaseDurationMs ?? 15_000;
    this.retryMs = opts.retryPeriodMs ?? 2_000;
  }

  isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.stopped = false;
    void this.tick();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    if (this.leading) this.setLeading(false);
  }

  private async tick(): Promise<void> {
    try {
      await this.tryAcquireOrRenew();
    } catch {
      // A lost race or an unreachable server: leadership lapses only when the lease itself would have.
    }
    if (this.leading && this.clock.now() - this.lastRenew > this.durationMs) this.setLeading(false);
    if (!this.stopped) this.timer = this.clock.setTimeout(() => void this.tick(), this.retryMs);
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const now = new Date(this.clock.now()).toISOString();
    const current = await this.opts.lock.get();
    const mine: LeaseRecord = {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: Math.ceil(this.durationMs / 1000),
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    };
    if (!current) {
      await this.opts.lock.create(mine);
      return this.renewed();
    }
    const held = current.spec;
    if (held.holderIdentity === this.opts.identity) {
      await this.opts.lock.update({ ...held, renewTime: now }, current.resourceVersion);
      return this.renewed();
    }
    const renewedAt = held.renewTime ? Date.parse(held.renewTime) : 0;
    const expired = renewedAt + (held.leaseDurationSeconds ?? 0) * 1000 < this.clock.now();
    if (!expired && held.holderIdentity) return;
    await this.opts.lock.update({ ...mine, leaseTransitions: (held.leaseTransitions ?? 0) + 1 }, current.resourceVersion);
    this.renewed();
  }

  private renewed(): void {
    this.lastRenew = this.clock.now();
    if (!this.leading && !this.stopped) this.setLeading(true);
  }

  private setLeading(v: boolean): void {
    this.leading = v;
    if (v) this.opts.onStartedLeading();
    else this.opts.onStoppedLeading();
  }
}
