import { KUBERNETES_BACKOFF, restartDelay, shouldRestart } from '../../../node-agent/agent/restart-policy';

describe('restart policy', () => {
  it.each([
    ['Always', 0, true],
    ['Always', 1, true],
    ['OnFailure', 0, false],
    ['OnFailure', 137, true],
    ['Never', 1, false],
  ] as const)('%s with exit %d restarts: %p', (policy, code, want) => expect(shouldRestart(policy, code)).toBe(want));

  it('restarts at once the first time, then doubles from 10 s to the 5 min cap on consecutive short runs', () => {
    const delays: number[] = [];
    let n = 0;
    for (let i = 0; i < 7; i++) {
      const r = restartDelay(1000, n);
      delays.push(r.delayMs);
      n = r.consecutiveShortRuns;
    }
    expect(delays).toEqual([0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000]);
  });

  it('resets after a run of 10 minutes', () => {
    expect(restartDelay(KUBERNETES_BACKOFF.resetAfterMs, 5)).toEqual({ delayMs: 0, consecutiveShortRuns: 0 });
    expect(restartDelay(1, 1, { initialMs: 50, maxMs: 200, resetAfterMs: 1000 }).delayMs).toBe(50);
  });
});
