import type { Clock } from '../../../controllers/runtime';
import { runCleanup, type CleanupStep } from '../../../node-agent/agent/cleanup';

/** Real timers a thousand times faster: the 60 s step timeout takes 60 ms, a 0.5 s pause 0.5 ms. */
const fastClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms / 1000);
    return { cancel: () => clearTimeout(t) };
  },
};

describe('runCleanup', () => {
  it('retries a failing step with doubling pauses, never skipping the steps after it, until every one succeeded', async () => {
    const ran: string[] = [];
    const failures: string[] = [];
    let busy = 2;
    const steps: CleanupStep[] = [
      { name: 'cgroup', run: () => void ran.push('cgroup') },
      {
        name: 'mount',
        run: () => {
          ran.push('mount');
          if (busy-- > 0) throw new Error('umount: EBUSY');
        },
      },
      { name: 'finalizer', run: async () => void ran.push('finalizer') },
    ];
    await runCleanup(steps, { clock: fastClock, onFailure: (step, attempt, err, pause) => void failures.push(`${step}#${attempt}: ${err.message} (${pause})`) });
    expect(ran).toEqual(['cgroup', 'mount', 'finalizer', 'mount', 'mount']);
    expect(failures).toEqual(['mount#1: umount: EBUSY (500)', 'mount#2: umount: EBUSY (1000)']);
  });

  it('counts an attempt that hangs as failed and retries the step', async () => {
    let attempts = 0;
    const failures: string[] = [];
    const hangsOnce: CleanupStep = { name: 'runtime container', run: () => (attempts++ === 0 ? new Promise(() => undefined) : undefined) };
    await runCleanup([hangsOnce], { clock: fastClock, onFailure: (step, attempt, err) => void failures.push(`${step}#${attempt}: ${err.message}`) });
    expect(attempts).toBe(2);
    expect(failures).toEqual(['runtime container#1: did not finish within 60 s']);
  });
});
