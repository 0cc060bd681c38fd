import { plan, Plan, PlanInput, Replica, RolloutStatus, StrategySpec } from '../../../controllers/service';

/**
 * A tiny world that obeys plans: created containers become ready (and available) on the next tick, deleted ones
 * terminate for one tick, then vanish. `fail` marks revisions whose containers crash-loop instead of becoming ready,
 * `unready` revisions whose containers run but never pass readiness.
 */
class World {
  owned: Replica[] = [];
  current?: string;
  rollout?: RolloutStatus;
  lastUpdate?: string;
  now = Date.parse('2026-01-01T00:00:00Z');
  history: Array<{ plan: Plan; owned: Replica[] }> = [];
  constructor(private readonly service = 'web', private readonly fail = new Set<string>(), private readonly unready = new Set<string>()) {}

  step(input: Omit<PlanInput, 'service' | 'owned' | 'currentRevision' | 'rollout' | 'now'>): Plan {
    const p = plan({ previousUpdateRevision: this.lastUpdate, ...input, service: this.service, owned: this.owned, currentRevision: this.current, rollout: this.rollout, now: this.now });
    this.history.push({ plan: p, owned: this.owned });
    this.current = p.currentRevision;
    this.rollout = p.rollout;
    this.lastUpdate = input.updateRevision;
    const failed = (rev: string) => this.fail.has(rev);
    const ready = (rev: string) => !failed(rev) && !this.unready.has(rev);
    this.owned = this.owned
      .filter((r) => !r.terminating)
      .map((r) => (p.delete.includes(r.name) ? { ...r, terminating: true, ready: false, available: false } : { ...r, ready: ready(r.revision), available: ready(r.revision), readySince: r.readySince ?? (ready(r.revision) ? this.now : undefined), crashLooping: failed(r.revision) }))
      .concat(p.create.map((c) => ({ name: `${this.service}-${c.revision}-${c.index}`, revision: c.revision, index: c.index, ready: false, available: false, failed: false, terminating: false, createdAt: this.now })));
    this.now += 1000;
    return p;
  }

  run(input: Omit<PlanInput, 'service' | 'owned' | 'currentRevision' | 'rollout' | 'now'>, ticks = 40): Plan {
    let p!: Plan;
    for (let i = 0; i < ticks; i++) p = this.step(input);
    return p;
  }

  count(rev: string, pred: (r: Replica) => boolean = () => true): number {
    return this.owned.filter((r) => r.revision === rev && !r.terminating && pred(r)).length;
  }
}

const A = 'aaaaaaaaaa';
const B = 'bbbbbbbbbb';
const strategy = (type: StrategySpec['type'], extra: Partial<StrategySpec> = {}): StrategySpec => ({ type, ...extra });

function deployed(type: StrategySpec['type'], replicas = 4, extra: Partial<StrategySpec> = {}, fail?: Set<string>): World {
  const w = new World('web', fail);
  const p = w.run({ replicas, strategy: strategy(type, extra), updateRevision: A });
  expect(p.rollout.phase).toBe('Healthy');
  expect(w.count(A, (r) => r.available)).toBe(replicas);
  return w;
}

describe('rollout planner', () => {
  it('brings up replicas, self-heals a failed one and scales down worst first', () => {
    const w = deployed('RollingUpdate', 3);
    w.owned = w.owned.map((r, i) => (i === 0 ? { ...r, failed: true, ready: false, available: false } : r));
    const heal = w.step({ replicas: 3, strategy: strategy('RollingUpdate'), updateRevision: A });
    expect(heal.delete).toEqual(['web-aaaaaaaaaa-0']);
    expect(heal.create).toEqual([{ revision: A, index: 3 }]);
    const down = w.run({ replicas: 1, strategy: strategy('RollingUpdate'), updateRevision: A }, 5);
    expect(w.count(A)).toBe(1);
    expect(down.weights).toEqual({ [A]: 100 });
  });

  it('is idempotent: the same input gives the same plan', () => {
    const w = deployed('RollingUpdate', 3);
    const input: PlanInput = { service: 'web', replicas: 3, strategy: strategy('RollingUpdate'), updateRevision: B, currentRevision: A, owned: w.owned, rollout: w.rollout, now: w.now };
    expect(plan(input)).toEqual(plan(input));
  });

  it('Recreate stops every old container before the first new one starts', () => {
    const w = deployed('Recreate');
    const p = w.run({ replicas: 4, strategy: strategy('Recreate'), updateRevision: B });
    for (const h of w.history) {
      const oldPresent = h.owned.some((r) => r.revision === A);
      if (oldPresent) expect(h.plan.create).toEqual([]);
    }
    expect(p.currentRevision).toBe(B);
    expect(w.count(B, (r) => r.available)).toBe(4);
  });

  it.each([
    [{}, 4 + 1, 4 - 1],
    [{ maxSurge: 0, maxUnavailable: 1 }, 4, 3],
    [{ maxSurge: '50%', maxUnavailable: 0 }, 6, 4],
    [{ order: 'stop-first' as const }, 4, 3],
  ])('RollingUpdate %j keeps total ≤ %d and available ≥ %d', (ru, maxTotal, minAvailable) => {
    const w = deployed('RollingUpdate', 4);
    const p = w.run({ replicas: 4, strategy: strategy('RollingUpdate', { rollingUpdate: ru }), updateRevision: B });
    for (const h of w.history.slice(-40)) {
      const live = h.owned.filter((r) => !r.terminating);
      expect(live.length).toBeLessThanOrEqual(maxTotal);
      expect(live.filter((r) => r.available).length).toBeGreaterThanOrEqual(minAvailable);
    }
    expect(p.currentRevision).toBe(B);
    expect(p.rollout.phase).toBe('Healthy');
    expect(w.count(A)).toBe(0);
  });

  it('RollingUpdate waits delaySeconds between batches', () => {
    const w = deployed('RollingUpdate', 4);
    const first = w.step({ replicas: 4, strategy: strategy('RollingUpdate', { rollingUpdate: { delaySeconds: 10 } }), updateRevision: B });
    expect(first.create.length).toBeGreaterThan(0);
    const next = w.step({ replicas: 4, strategy: strategy('RollingUpdate', { rollingUpdate: { delaySeconds: 10 } }), updateRevision: B });
    expect(next.create).toEqual([]);
    expect(next.requeueAfterMs).toBe(9000);
  });

  it.each([
    [{ maxSurge: 2, maxUnavailable: 0 }, 2],
    [{ maxSurge: 0, maxUnavailable: 2 }, 2],
  ])('RollingUpdate %j with delaySeconds starts batches of %d at least the delay apart, old and new side by side', (ru, batch) => {
    const w = deployed('RollingUpdate', 6);
    const p = w.run({ replicas: 6, strategy: strategy('RollingUpdate', { rollingUpdate: { ...ru, delaySeconds: 5 } }), updateRevision: B }, 60);
    expect(p.rollout.phase).toBe('Healthy');
    const starts = w.history.map((h, i) => ({ i, n: h.plan.create.filter((c) => c.revision === B).length })).filter((x) => x.n > 0);
    expect(starts.map((x) => x.n)).toEqual([batch, batch, batch]);
    for (let k = 1; k < starts.length; k++) expect(starts[k].i - starts[k - 1].i).toBeGreaterThanOrEqual(5);
    expect(w.history.some((h) => h.owned.some((r) => r.revision === A && r.ready) && h.owned.some((r) => r.revision === B && r.ready))).toBe(true);
    for (const h of w.history) expect(h.owned.filter((r) => !r.terminating).length).toBeLessThanOrEqual(6 + ru.maxSurge);
  });

  it.each([
    ['pause', 'Paused', B],
    ['rollback', 'RolledBack', A],
  ] as const)('RollingUpdate failureAction %s on failing containers ends %s serving %s', (failureAction, phase, serving) => {
    const w = deployed('RollingUpdate', 4, {}, new Set([B]));
    const p = w.run({ replicas: 4, strategy: strategy('RollingUpdate', { rollingUpdate: { failureAction } }), updateRevision: B }, 10);
    expect(p.rollout.phase).toBe(phase);
    expect(p.currentRevision).toBe(A);
    if (serving === A) {
      expect(w.count(B)).toBe(0);
      expect(w.count(A, (r) => r.available)).toBe(4);
    }
  });

  it('RollingUpdate maxRestarts: restarts of new containers within monitorSeconds roll back at once, before any deadline', () => {
    const ru = { failureAction: 'rollback' as const, maxRestarts: 3, monitorSeconds: 30 };
    const w = deployed('RollingUpdate', 4, {}, undefined);
    const input = { replicas: 4, strategy: strategy('RollingUpdate', { rollingUpdate: ru }), updateRevision: B };
    w.step(input);
    const restart = (n: number) => (w.owned = w.owned.map((r) => (r.revision === B ? { ...r, ready: false, available: false, restartCount: n, crashLooping: true } : r)));
    restart(1); // one restart on each of the (one) new containers: crash-looping, but fewer than maxRestarts
    let p = w.step({ ...input });
    expect(p.rollout.phase).toBe('Progressing');
    expect(w.count(B)).toBeGreaterThan(0);
    restart(3);
    p = w.step(input);
    expect(p.rollout.phase).toBe('RolledBack');
    expect(p.rollout.message).toMatch(/restarts of new containers of bbbbbbbbbb within 30s of their start \(maxRestarts 3\): rolled back to aaaaaaaaaa/);
    expect(p.weights).toEqual({ [A]: 100 });
    expect(p.delete.some((n) => n.includes(B))).toBe(true);
  });

  it('RollingUpdate maxRestarts counts only restarts within monitorSeconds of a container\'s creation', () => {
    const ru = { failureAction: 'rollback' as const, maxRestarts: 2, monitorSeconds: 5 };
    const w = deployed('RollingUpdate', 2);
    const input = { replicas: 2, strategy: strategy('RollingUpdate', { rollingUpdate: ru }), updateRevision: B };
    w.step(input);
    w.now += 10_000;
    w.owned = w.owned.map((r) => (r.revision === B ? { ...r, restartCount: 5 } : r));
    expect(w.step(input).rollout.phase).toBe('Progressing');
  });

  it.each([
    ['rollback', 'RolledBack'],
    ['pause', 'Paused'],
  ] as const)('RollingUpdate: a revision that never gets ready fails at progressDeadlineSeconds (failureAction %s → %s)', (failureAction, phase) => {
    const w = new World('web', new Set(), new Set([B]));
    w.run({ replicas: 2, strategy: strategy('RollingUpdate'), updateRevision: A });
    const input = { replicas: 2, strategy: strategy('RollingUpdate', { rollingUpdate: { failureAction } }), updateRevision: B, progressDeadlineSeconds: 5 };
    let p = w.run(input, 5);
    expect(p.rollout.phase).toBe('Progressing');
    expect(p.requeueAfterMs).toBeLessThanOrEqual(5001);
    p = w.run(input, 3);
    expect(p.rollout.phase).toBe(phase);
    expect(p.rollout.message).toMatch(/no progress of bbbbbbbbbb for \d+s \(progressDeadlineSeconds 5\)/);
    expect(p.currentRevision).toBe(A);
    expect(w.count(A, (r) => r.available)).toBeGreaterThanOrEqual(1);
    expect(w.count(B)).toBe(phase === 'RolledBack' ? 0 : 1);
  });

  it('failureAction continue: a stalled rollout only reports the exceeded deadline', () => {
    const w = new World('web', new Set(), new Set([B]));
    w.run({ replicas: 2, strategy: strategy('RollingUpdate'), updateRevision: A });
    const p = w.run({ replicas: 2, strategy: strategy('RollingUpdate', { rollingUpdate: { failureAction: 'continue' } }), updateRevision: B, progressDeadlineSeconds: 3 }, 8);
    expect(p.rollout.phase).toBe('Progressing');
    expect(p.progressDeadlineExceeded).toBe(true);
  });

  it('a long-healthy service whose replica turns unready starts a fresh progress clock', () => {
    const w = deployed('RollingUpdate', 3);
    expect(w.rollout?.progressedAt).toBeUndefined();
    w.now += 3600_000;
    w.owned = w.owned.map((r, i) => (i === 0 ? { ...r, ready: false, available: false } : r));
    const p = plan({ service: 'web', replicas: 3, strategy: strategy('RollingUpdate'), updateRevision: A, previousUpdateRevision: A, currentRevision: A, owned: w.owned, rollout: w.rollout, now: w.now, progressDeadlineSeconds: 60 });
    expect(p.rollout.phase).toBe('Progressing');
    expect(p.progressDeadlineExceeded).toBe(false);
    expect(p.rollout.progressedAt).toBe(new Date(w.now).toISOString());
  });

  it.each([
    ['a batch delay', { rollingUpdate: { delaySeconds: 30 } }, {}],
    ['a pre-pull', {}, { prePulling: 'pre-pulling reg.local/app:v2: 0 of 1 node(s) hold it, waiting for n1' }],
  ])('while waiting on %s, planning again later changes no status (each status write would trigger another reconcile)', (_what, extra, more) => {
    const w = deployed('RollingUpdate', 4);
    const input = { replicas: 4, strategy: strategy('RollingUpdate', extra), updateRevision: B, ...more };
    w.run(input, 3);
    const base = { ...input, service: 'web', owned: w.owned, currentRevision: w.current, rollout: w.rollout, previousUpdateRevision: B };
    const first = plan({ ...base, now: w.now });
    const later = plan({ ...base, now: w.now + 1500 });
    expect(later.rollout).toEqual(first.rollout);
    expect(later.rollout).toEqual(w.rollout);
  });

  it('progress resets the deadline: a slow rollout whose replicas keep turning ready is not stalled', () => {
    const w = deployed('RollingUpdate', 6);
    const p = w.run({ replicas: 6, strategy: strategy('RollingUpdate', { rollingUpdate: { maxSurge: 1, maxUnavailable: 0, failureAction: 'rollback' } }), updateRevision: B, progressDeadlineSeconds: 3 }, 30);
    expect(p.rollout.phase).toBe('Healthy');
    expect(p.currentRevision).toBe(B);
  });

  it.each(['RollingUpdate', 'Recreate', 'BlueGreen', 'Canary'] as const)('%s: while the new image is pre-pulled nothing of the revision starts and the progress clock stands still', (type) => {
    const w = deployed(type, 3);
    const input = { replicas: 3, strategy: strategy(type), updateRevision: B, progressDeadlineSeconds: 2, prePulling: 'pre-pulling reg.local/app:v2: 0 of 1 node(s) hold it, waiting for n1' };
    const p = w.run(input, 5);
    expect(p.rollout).toMatchObject({ phase: 'Progressing', message: input.prePulling });
    expect(p.rollout.progressedAt).toBeUndefined();
    expect(p.progressDeadlineExceeded).toBe(false);
    expect(p.requeueAfterMs).toBeLessThanOrEqual(2000);
    expect(p.currentRevision).toBe(A);
    expect(p.weights).toEqual({ [A]: 3 });
    expect(w.count(B)).toBe(0);
    expect(w.count(A, (r) => r.available)).toBe(3);
    const { prePulling: _done, ...pulled } = input;
    expect(w.run({ ...pulled, progressDeadlineSeconds: 600, promote: `${B}:full` }, 20).currentRevision).toBe(B);
  });

  it('BlueGreen brings the preview up at full size, switches traffic only on promote, then scales the old down after the delay', () => {
    const bg = { blueGreen: { scaleDownDelaySeconds: 5 } };
    const w = deployed('BlueGreen', 3, bg);
    let p = w.run({ replicas: 3, strategy: strategy('BlueGreen', bg), updateRevision: B }, 10);
    expect(p.weights).toEqual({ [A]: 100 });
    expect(p.previewRevision).toBe(B);
    expect(p.rollout.phase).toBe('Paused');
    expect(w.count(B, (r) => r.available)).toBe(3);
    p = w.step({ replicas: 3, strategy: strategy('BlueGreen', bg), updateRevision: B, promote: B });
    expect(p.weights).toEqual({ [B]: 100 });
    expect(p.currentRevision).toBe(B);
    expect(w.count(A)).toBe(3); // kept for instant rollback
    w.run({ replicas: 3, strategy: strategy('BlueGreen', bg), updateRevision: B }, 8);
    expect(w.count(A)).toBe(0);
  });

  it('BlueGreen autoPromote switches after autoPromotionSeconds', () => {
    const bg = { blueGreen: { autoPromote: true, autoPromotionSeconds: 3 } };
    const w = deployed('BlueGreen', 2, bg);
    const p = w.run({ replicas: 2, strategy: strategy('BlueGreen', bg), updateRevision: B }, 10);
    expect(p.currentRevision).toBe(B);
  });

  it('Canary follows setWeight steps, waits at an indefinite pause, and completes on promote', () => {
    const canary = { canary: { steps: [{ setWeight: 25 }, { pause: { duration: 2 } }, { setWeight: 50 }, { pause: {} }] } };
    const w = deployed('Canary', 4, canary);
    const input = { replicas: 4, strategy: strategy('Canary', canary), updateRevision: B };
    let p = w.step(input);
    expect(p.create).toEqual([{ revision: B, index: 0 }]);
    w.step(input); // the canary container becomes ready in the world after this tick
    p = w.step(input);
    expect(p.weights).toEqual({ [A]: 75, [B]: 25 });
    expect(p.rollout).toMatchObject({ stepIndex: 1, phase: 'Progressing' });
    p = w.run(input, 10);
    expect(p.rollout).toMatchObject({ phase: 'Paused', stepIndex: 3, canaryWeight: 50 });
    expect(p.weights).toEqual({ [A]: 50, [B]: 50 });
    expect(w.count(B)).toBe(2);
    expect(w.count(A)).toBe(4);
    p = w.run({ ...input, promote: `${B}:3` }, 6);
    expect(p.currentRevision).toBe(B);
    expect(p.weights).toEqual({ [B]: 100 });
    expect(w.count(A)).toBe(0);
  });

  it('Canary aborts on failed analysis and returns all traffic to stable', () => {
    const canary = { canary: { steps: [{ setWeight: 50 }, { pause: {} }], analysis: { maxErrorRate: 0.05 } } };
    const w = deployed('Canary', 2, canary);
    const input = { replicas: 2, strategy: strategy('Canary', canary), updateRevision: B };
    w.run(input, 4);
    const p = w.step({ ...input, canaryTraffic: { requests: 100, errorRate: 0.2, latencyP99Ms: 5 } });
    expect(p.rollout.phase).toBe('Aborted');
    expect(p.rollout.message).toMatch(/error rate 20.0%/);
    expect(p.weights).toEqual({ [A]: 100 });
    w.run(input, 3);
    expect(w.count(B)).toBe(0);
  });

  it('abort of a BlueGreen preview deletes it and keeps the active revision', () => {
    const w = deployed('BlueGreen', 2);
    w.run({ replicas: 2, strategy: strategy('BlueGreen'), updateRevision: B }, 5);
    const p = w.run({ replicas: 2, strategy: strategy('BlueGreen'), updateRevision: B, abort: B }, 3);
    expect(p.rollout.phase).toBe('Aborted');
    expect(w.count(B)).toBe(0);
    expect(p.weights).toEqual({ [A]: 100 });
  });
});

describe('rollout retry', () => {
  it('a retried revision that was aborted rolls out again', () => {
    const w = new World();
    w.run({ replicas: 2, strategy: { type: 'RollingUpdate' }, updateRevision: A });
    w.run({ replicas: 2, strategy: { type: 'RollingUpdate' }, updateRevision: B, abort: B }, 5);
    expect(w.rollout?.phase).toBe('Aborted');
    expect(w.count(B)).toBe(0);
    const p = w.run({ replicas: 2, strategy: { type: 'RollingUpdate' }, updateRevision: B, abort: B, retry: B }, 20);
    expect(p.rollout.phase).toBe('Aborted'); // abort still set: retry loses against a standing abort
    const q = w.run({ replicas: 2, strategy: { type: 'RollingUpdate' }, updateRevision: B, retry: B }, 20);
    expect(q.currentRevision).toBe(B);
    expect(q.rollout.phase).toBe('Healthy');
  });
});

describe('paused rollouts', () => {
  it('make no progress but replace failed containers', () => {
    const w = new World();
    w.run({ replicas: 2, strategy: { type: 'RollingUpdate' }, updateRevision: A });
    w.owned = w.owned.map((r, i) => (i === 0 ? { ...r, failed: true, ready: false, available: false } : r));
    const p = w.step({ replicas: 2, strategy: { type: 'RollingUpdate' }, updateRevision: B, paused: true });
    expect(p.rollout.phase).toBe('Paused');
    expect(p.create).toEqual([{ revision: A, index: 2 }]);
    expect(p.create.some((c) => c.revision === B)).toBe(false);
  });
});
