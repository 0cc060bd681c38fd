import { resolveIntOrPercent } from './revision';
import { CanaryStep, Plan, PlanInput, Replica, RolloutStatus } from './types';

/**
 * The rollout planner: from a Service's desired state and the Containers it owns, the next set of creates and
 * deletes, the traffic weights, and the new `status.rollout`. Pure and idempotent — planning twice on the same
 * input gives the same plan — so the controller can run it on every reconcile without remembering events.
 */
export function plan(input: PlanInput): Plan {
  const b = new PlanBuilder(input);
  const { updateRevision: update, currentRevision: current } = input;
  if (input.retry && b.rollout.abortedRevision === input.retry && input.abort !== input.retry) {
    b.rollout = { ...b.rollout, abortedRevision: undefined, phase: 'Progressing', message: `retrying ${input.retry}` };
  }
  if (current && update !== current && input.abort === update) {
    b.rollout = { phase: 'Aborted', abortedRevision: update, activeRevision: current, message: `rollout of ${update} aborted` };
  }
  if (current && update !== current && b.rollout.abortedRevision === update) return b.holdStable(current);
  if (!current || update === current) return b.steadyState(update);
  if (input.paused) return b.pausedRollout();
  if (input.prePulling) return b.prePulling(input.prePulling);
  switch (input.strategy.type) {
    case 'Recreate':
      return b.recreate(update);
    case 'BlueGreen':
      return b.blueGreen(update, current);
    case 'Canary':
      return b.canary(update, current);
    default:
      return b.rollingUpdate(update, current);
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();
/** A pre-pull is followed through its Image's status; this catches nodes coming and going meanwhile. */
const PRE_PULL_RECHECK_MS = 2000;
const since = (t: string | undefined): number => (t ? Date.parse(t) : NaN);

class PlanBuilder {
  readonly create: Array<{ revision: string; index: number }> = [];
  readonly delete: string[] = [];
  rollout: RolloutStatus;
  private requeueAfterMs?: number;
  /** When the strategy's timer the plan waits on ends (a batch delay, a timed pause): waiting on purpose is no stall. */
  private waitEnd?: number;
  /** The progress clock does not run (a pre-pull): no deadline, and a fresh clock once it is over. */
  private clockStopped = false;

  constructor(private readonly input: PlanInput) {
    this.rollout = input.rollout ?? { phase: 'Progressing' };
    if (input.previousUpdateRevision !== input.updateRevision || !this.rollout.progressedAt) {
      this.rollout = { ...this.rollout, progressedAt: iso(input.now) };
    }
  }

  /** Containers of `revision` that are not being deleted. */
  live(revision: string): Replica[] {
    return this.input.owned.filter((r) => r.revision === revision && !r.terminating && !this.delete.includes(r.name));
  }

  others(revisions: readonly string[]): Replica[] {
    return this.input.owned.filter((r) => !revisions.includes(r.revision) && !r.terminating && !this.delete.includes(r.name));
  }

  readyCount(revision: string): number {
    return this.live(revision).filter((r) => r.ready).length;
  }

  allAvailable(revision: string, n: number): boolean {
    const live = this.live(revision);
    return live.length === n && live.every((r) => r.available);
  }

  /** Brings `revision` to `n` live containers: failed ones are replaced, new ones take the lowest free indexes,
   *  extras go worst first. Names of containers still terminating are not reused (their create would conflict). */
  scaleTo(revision: string, n: number): void {
    this.delete.push(...this.live(revision).filter((r) => r.failed).map((r) => r.name));
    const live = this.live(revision);
    if (live.length > n) {
      this.delete.push(...worstFirst(live).slice(0, live.length - n).map((r) => r.name));
      return;
    }
    const taken = new Set(this.input.owned.filter((r) => r.revision === revision).map((r) => r.index));
    for (const c of this.create) if (c.revision === revision) taken.add(c.index);
    let missing = n - live.length - this.create.filter((c) => c.revision === revision).length;
    for (let i = 0; missing > 0; i++) {
      if (taken.has(i)) continue;
      this.create.push({ revision, index: i });
      missing--;
    }
  }

  /** Look again in `ms` because the strategy waits on a timer. */
  wait(ms: number): void {
    this.waitEnd = Math.max(this.waitEnd ?? 0, this.input.now + ms);
    this.requeueAt(ms);
  }

  requeueAt(ms: number): void {
    const left = Math.max(1, Math.ceil(ms));
    this.requeueAfterMs = this.requeueAfterMs === undefined ? left : Math.min(this.requeueAfterMs, left);
  }

  /** When the rollout last moved: `rollout.progressedAt`, an updated replica turning ready since, or the end of a batch delay. */
  lastProgressAt(): number {
    const readyAt = this.live(this.input.updateRevision).flatMap((r) => (r.ready && r.readySince !== undefined ? [r.readySince] : []));
    const delayEnd = since(this.rollout.lastBatchAt) + (this.input.strategy.rollingUpdate?.delaySeconds ?? 0) * 1000;
    return Math.max(since(this.rollout.progressedAt) || 0, delayEnd || 0, ...readyAt);
  }

  /** Seconds the rollout went without progress when that is more than progressDeadlineSeconds, else undefined. */
  stalledSeconds(): number | undefined {
    const idleMs = this.input.now - this.lastProgressAt();
    return idleMs > this.deadlineMs() ? Math.floor(idleMs / 1000) : undefined;
  }

  private deadlineMs(): number {
    return (this.input.progressDeadlineSeconds ?? 600) * 1000;
  }

  finish(weights: Record<string, number>, currentRevision: string | undefined, previewRevision?: string): Plan {
    let progressDeadlineExceeded = false;
    if (this.rollout.phase === 'Progressing' && !this.clockStopped) {
      // The clock restarts at a change, or at the end of a timer being waited on: both stay put between reconciles
      // (a `now` here would rewrite the status on every reconcile, and each write triggers the next).
      const moved = this.create.length > 0 || this.delete.length > 0;
      const at = Math.max(moved ? this.input.now : since(this.rollout.progressedAt), this.waitEnd ?? 0);
      this.rollout = { ...this.rollout, progressedAt: iso(at) };
      progressDeadlineExceeded = this.stalledSeconds() !== undefined;
      if (!progressDeadlineExceeded) this.requeueAt(this.lastProgressAt() + this.deadlineMs() + 1 - this.input.now);
    }
    return {
      create: this.create,
      delete: [...new Set(this.delete)],
      weights,
      previewRevision,
      currentRevision,
      rollout: this.rollout,
      requeueAfterMs: this.requeueAfterMs,
      progressDeadlineExceeded,
    };
  }

  /** No rollout in progress: keep `replicas` of `revision`; old revisions go once any scale-down delay has passed. */
  steadyState(revision: string): Plan {
    const { replicas, now } = this.input;
    this.scaleTo(revision, replicas);
    const scaleDownAt = since(this.rollout.scaleDownAt);
    const old = this.others([revision]);
    const keepOld = old.length > 0 && scaleDownAt > now;
    if (keepOld) this.wait(scaleDownAt - now);
    else this.delete.push(...old.map((r) => r.name));
    const healthy = this.allAvailable(revision, replicas) && this.create.length === 0;
    this.rollout = {
      ...this.rollout,
      phase: healthy ? 'Healthy' : this.rollout.phase === 'Healthy' ? 'Progressing' : this.rollout.phase,
      activeRevision: revision,
      previewRevision: undefined,
      previewReadyAt: undefined,
      canaryWeight: undefined,
      stepIndex: undefined,
      stepStartedAt: undefined,
      scaleDownAt: keepOld ? this.rollout.scaleDownAt : undefined,
      // Healthy needs no progress clock; the next bout of progressing (a crash, a scale-up) starts a fresh one.
      progressedAt: healthy ? undefined : this.rollout.progressedAt,
      message: healthy ? `${replicas} of ${replicas} containers of ${revision} available` : `waiting for ${revision}: ${this.readyCount(revision)} of ${replicas} ready`,
    };
    return this.finish({ [revision]: 100 }, revision);
  }

  /** The update was aborted or rolled back: the stable revision serves at full size, the update's containers go. */
  holdStable(current: string): Plan {
    this.scaleTo(current, this.input.replicas);
    this.delete.push(...this.others([current]).map((r) => r.name));
    if (this.rollout.phase !== 'Aborted' && this.rollout.phase !== 'RolledBack') this.rollout = { ...this.rollout, phase: 'Aborted' };
    this.rollout = { ...this.rollout, activeRevision: current, previewRevision: undefined, canaryWeight: 0 };
    return this.finish({ [current]: 100 }, current);
  }

  /** spec.paused: no rollout progress, but each revision keeps its present size with failed containers replaced. */
  pausedRollout(): Plan {
    this.keepSizes();
    this.rollout = { ...this.rollout, phase: 'Paused', message: 'rollout paused (spec.paused): berth rollout resume continues it' };
    return this.finish(this.readyWeights(), this.input.currentRevision);
  }

  /** The update's image is still being pulled onto the nodes: nothing new starts, and the progress clock stands still. */
  prePulling(message: string): Plan {
    this.keepSizes();
    this.rollout = { ...this.rollout, phase: 'Progressing', message, progressedAt: undefined };
    this.clockStopped = true;
    this.requeueAt(PRE_PULL_RECHECK_MS);
    return this.finish(this.readyWeights(), this.input.currentRevision);
  }

  /** Each revision keeps its present number of containers, failed ones replaced. */
  private keepSizes(): void {
    const revisions = new Set(this.input.owned.filter((r) => !r.terminating).map((r) => r.revision));
    for (const rev of revisions) this.scaleTo(rev, this.live(rev).length);
  }

  recreate(update: string): Plan {
    const old = this.input.owned.filter((r) => r.revision !== update);
    if (old.length) {
      this.delete.push(...old.filter((r) => !r.terminating).map((r) => r.name));
      this.rollout = { ...this.rollout, phase: 'Progressing', message: `stopping ${old.length} old containers before starting ${update}` };
      return this.finish({}, this.input.currentRevision);
    }
    return this.steadyState(update);
  }

  rollingUpdate(update: string, current: string): Plan {
    const { replicas, now } = this.input;
    const ru = this.input.strategy.rollingUpdate ?? {};
    let surge = resolveIntOrPercent(ru.maxSurge, replicas, '25%', true);
    let unavailable = resolveIntOrPercent(ru.maxUnavailable, replicas, '25%', false);
    if (ru.order === 'stop-first') [surge, unavailable] = [0, Math.max(unavailable, 1)];
    if (ru.order === 'start-first') surge = Math.max(surge, 1);
    if (surge === 0 && unavailable === 0) unavailable = 1;

    const failure = this.rollingUpdateFailure(update);
    if (failure && (ru.failureAction ?? 'pause') !== 'continue') {
      if (ru.failureAction === 'rollback') {
        this.rollout = { ...this.rollout, phase: 'RolledBack', abortedRevision: update, message: `${failure}: rolled back to ${current}` };
        return this.holdStable(current);
      }
      this.rollout = { ...this.rollout, phase: 'Paused', message: `${failure}: update paused (failureAction: pause)` };
      return this.finish(this.readyWeights(), current);
    }

    // A batch starts with its new containers; delaySeconds separates the starts of batches (Swarm's update delay).
    const nextBatchAt = since(this.rollout.lastBatchAt) + (ru.delaySeconds ?? 0) * 1000;
    const delaying = nextBatchAt > now;
    if (delaying) this.wait(nextBatchAt - now);

    const old = this.others([update]);
    // Old containers that are not ready serve nothing: removing them first costs no availability.
    this.delete.push(...old.filter((r) => !r.ready).map((r) => r.name));
    const total = () => this.live(update).length + this.others([update]).length;
    const toCreate = delaying ? 0 : Math.min(replicas - this.live(update).length, replicas + surge - total());
    if (toCreate > 0) this.scaleTo(update, this.live(update).length + toCreate);
    const available = this.input.owned.filter((r) => r.available && !r.terminating && !this.delete.includes(r.name)).length;
    let removable = Math.max(0, available - (replicas - unavailable));
    // During the delay only the surplus of a finished start-first batch goes; stopping more would begin the next batch.
    if (delaying) removable = Math.min(removable, Math.max(0, total() - replicas));
    this.delete.push(...worstFirst(this.others([update])).slice(0, removable).map((r) => r.name));
    if (this.create.length) this.rollout = { ...this.rollout, lastBatchAt: iso(now) };

    const done = this.allAvailable(update, replicas) && this.others([update]).length === 0 && this.create.length === 0;
    this.rollout = {
      ...this.rollout,
      phase: done ? 'Healthy' : 'Progressing',
      activeRevision: done ? update : current,
      message: `${this.readyCount(update)} of ${replicas} updated containers ready, ${this.others([update]).length} old still running${delaying ? `; next batch at ${iso(nextBatchAt)} (delaySeconds ${ru.delaySeconds})` : ''}`,
    };
    return this.finish(this.readyWeights(), done ? update : current);
  }

  /**
   * Why the update counts as failed, if it does (Swarm's update_config): more than maxFailureRatio of its containers
   * failed; or, with maxRestarts, that many restarts of its containers within monitorSeconds of their creation (a
   * crash loop fails the rollout at once instead of at the progress deadline); or no progress within the deadline.
   */
  private rollingUpdateFailure(update: string): string | undefined {
    const ru = this.input.strategy.rollingUpdate ?? {};
    const fresh = this.live(update);
    // With maxRestarts the restart count judges crash loops; without it a crash-looping container counts as failed.
    const failed = fresh.filter((r) => r.failed || (ru.maxRestarts === undefined && r.crashLooping)).length;
    if (failed > 0 && failed / Math.max(fresh.length, 1) > (ru.maxFailureRatio ?? 0)) return `${failed} of ${fresh.length} new containers of ${update} failed`;
    if (ru.maxRestarts !== undefined) {
      const window = ru.monitorSeconds ? ru.monitorSeconds * 1000 : Infinity;
      const monitored = fresh.filter((r) => r.createdAt === undefined || this.input.now - r.createdAt <= window);
      const restarts = monitored.reduce((n, r) => n + (r.restartCount ?? 0), 0);
      const within = ru.monitorSeconds ? ` within ${ru.monitorSeconds}s of their start` : '';
      if (restarts >= ru.maxRestarts) return `${restarts} restarts of new containers of ${update}${within} (maxRestarts ${ru.maxRestarts})`;
    }
    const stalled = this.stalledSeconds();
    if (stalled !== undefined) return `no progress of ${update} for ${stalled}s (progressDeadlineSeconds ${this.deadlineMs() / 1000})`;
    return undefined;
  }

  blueGreen(update: string, current: string): Plan {
    const { replicas, now } = this.input;
    const bg = this.input.strategy.blueGreen ?? {};
    this.scaleTo(current, replicas);
    this.scaleTo(update, replicas);
    const previewReady = this.allAvailable(update, replicas) && !this.create.some((c) => c.revision === update);
    let previewReadyAt = this.rollout.previewRevision === update ? this.rollout.previewReadyAt : undefined;
    if (previewReady && !previewReadyAt) previewReadyAt = iso(now);
    const autoAt = since(previewReadyAt) + (bg.autoPromotionSeconds ?? 0) * 1000;
    const promoted = previewReady && (this.input.promote?.split(':')[0] === update || (bg.autoPromote === true && autoAt <= now));
    if (promoted) {
      // The switch: all traffic moves to the new revision in one status write; the old one stays for instant rollback.
      this.rollout = {
        phase: 'Healthy',
        activeRevision: update,
        scaleDownAt: iso(now + (bg.scaleDownDelaySeconds ?? 30) * 1000),
        message: `promoted ${update}; ${current} scales down after ${bg.scaleDownDelaySeconds ?? 30}s`,
      };
      this.wait((bg.scaleDownDelaySeconds ?? 30) * 1000);
      return this.finish({ [update]: 100 }, update);
    }
    if (previewReady && bg.autoPromote) this.wait(autoAt - now);
    this.rollout = {
      ...this.rollout,
      phase: previewReady && !bg.autoPromote ? 'Paused' : 'Progressing',
      activeRevision: current,
      previewRevision: update,
      previewReadyAt,
      message: previewReady
        ? bg.autoPromote
          ? `preview ${update} ready; promoting automatically`
          : `preview ${update} ready on the preview port: run berth rollout promote`
        : `waiting for preview ${update}: ${this.readyCount(update)} of ${replicas} ready`,
    };
    return this.finish({ [current]: 100 }, current, update);
  }

  canary(update: string, current: string): Plan {
    const { replicas, now } = this.input;
    const spec = this.input.strategy.canary ?? {};
    const steps = spec.steps ?? [];
    const fresh = this.rollout.previewRevision !== update;
    let stepIndex = fresh ? 0 : this.rollout.stepIndex ?? 0;
    let stepStartedAt = fresh ? iso(now) : this.rollout.stepStartedAt ?? iso(now);

    const traffic = this.input.canaryTraffic;
    const a = spec.analysis;
    if (a && traffic && traffic.requests >= (a.minRequests ?? 20)) {
      const tooManyErrors = a.maxErrorRate !== undefined && traffic.errorRate > a.maxErrorRate;
      const tooSlow = a.maxLatencyMs !== undefined && traffic.latencyP99Ms > a.maxLatencyMs;
      if (tooManyErrors || tooSlow) {
        this.rollout = {
          ...this.rollout,
          phase: 'Aborted',
          abortedRevision: update,
          message: `canary ${update} failed analysis: error rate ${(traffic.errorRate * 100).toFixed(1)}%, p99 ${traffic.latencyP99Ms} ms over ${traffic.requests} requests`,
        };
        return this.holdStable(current);
      }
    }
    if (this.input.promote === `${update}:full`) stepIndex = steps.length;

    let message = '';
    for (; stepIndex < steps.length; stepIndex++, stepStartedAt = iso(now)) {
      const step = steps[stepIndex];
      const weight = weightAt(steps, stepIndex);
      if ('setWeight' in step) {
        const want = weight > 0 ? Math.max(1, Math.ceil((replicas * weight) / 100)) : 0;
        if (!this.allAvailable(update, want)) {
          message = `step ${stepIndex}: waiting for ${want} canary containers at ${weight}%`;
          break;
        }
      } else if (step.pause.duration !== undefined) {
        const until = since(stepStartedAt) + step.pause.duration * 1000;
        if (until > now) {
          this.wait(until - now);
          message = `step ${stepIndex}: paused at ${weight}% for ${step.pause.duration}s`;
          break;
        }
      } else if (this.input.promote !== `${update}:${stepIndex}`) {
        message = `step ${stepIndex}: paused at ${weight}% until berth rollout promote`;
        break;
      }
    }

    if (stepIndex >= steps.length) {
      this.scaleTo(update, replicas);
      if (this.allAvailable(update, replicas) && !this.create.length) {
        this.rollout = { phase: 'Healthy', activeRevision: update, message: `canary ${update} promoted` };
        this.delete.push(...this.others([update]).map((r) => r.name));
        return this.finish({ [update]: 100 }, update);
      }
      this.scaleTo(current, replicas);
      message = `promoting ${update}: ${this.readyCount(update)} of ${replicas} ready`;
    } else {
      const weight = weightAt(steps, stepIndex);
      this.scaleTo(update, weight > 0 ? Math.max(1, Math.ceil((replicas * weight) / 100)) : 0);
      this.scaleTo(current, replicas);
    }
    const weight = stepIndex >= steps.length ? 100 : weightAt(steps, stepIndex);
    const canaryServes = this.readyCount(update) > 0 ? weight : 0;
    this.rollout = {
      ...this.rollout,
      phase: message.includes('until berth rollout promote') ? 'Paused' : 'Progressing',
      previewRevision: update,
      activeRevision: current,
      stepIndex,
      stepStartedAt,
      canaryWeight: canaryServes,
      message,
    };
    const weights: Record<string, number> = { [current]: 100 - canaryServes };
    if (canaryServes) weights[update] = canaryServes;
    return this.finish(weights, current);
  }

  readyWeights(): Record<string, number> {
    const weights: Record<string, number> = {};
    for (const r of this.input.owned) {
      if (r.ready && !r.terminating && !this.delete.includes(r.name)) weights[r.revision] = (weights[r.revision] ?? 0) + 1;
    }
    return weights;
  }
}

/** The traffic weight in force at a step: the last setWeight at or before it. */
function weightAt(steps: readonly CanaryStep[], index: number): number {
  for (let i = Math.min(index, steps.length - 1); i >= 0; i--) {
    const s = steps[i];
    if ('setWeight' in s) return s.setWeight;
  }
  return 0;
}

/** Order for removal: failed, then not ready, then not yet available, then the highest index. */
function worstFirst(replicas: readonly Replica[]): Replica[] {
  const rank = (r: Replica) => (r.failed ? 0 : !r.ready ? 1 : !r.available ? 2 : 3);
  return [...replicas].sort((a, b) => rank(a) - rank(b) || b.index - a.index);
}
