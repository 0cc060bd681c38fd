import type { Clock } from '../../controllers/runtime';

/** One part of removing a container from the node. It is retried until it succeeds, so it must be idempotent. */
export interface CleanupStep {
  readonly name: string;
  run(): Promise<unknown> | unknown;
}

export interface CleanupOptions {
  readonly clock: Clock;
  /** An attempt that has not settled after this long counts as failed (its step is retried). */
  readonly stepTimeoutMs?: number;
  /** Told about every failed attempt, with the pause before the next one: where an operator learns what blocks. */
  readonly onFailure: (step: string, attempt: number, err: Error, retryInMs: number) => Promise<void> | void;
}

const STEP_TIMEOUT_MS = 60_000;
const MAX_PAUSE_MS = 10_000;

/**
 * Runs the steps in order until each has succeeded once. A step that fails or hangs does not stop the ones after
 * it: the failed ones are retried, in order, after a pause doubling from 0.5 s to 10 s. Resolves once all succeeded.
 */
export async function runCleanup(steps: readonly CleanupStep[], opts: CleanupOptions): Promise<void> {
  const timeoutMs = opts.stepTimeoutMs ?? STEP_TIMEOUT_MS;
  for (let attempt = 1, pending = steps; pending.length > 0; attempt++) {
    const pauseMs = Math.min(500 * 2 ** (attempt - 1), MAX_PAUSE_MS);
    const failed: CleanupStep[] = [];
    for (const step of pending) {
      try {
        await bounded(step, timeoutMs, opts.clock);
      } catch (err) {
        failed.push(step);
        await opts.onFailure(step.name, attempt, err as Error, pauseMs);
      }
    }
    pending = failed;
    if (pending.length > 0) await new Promise<void>((resolve) => opts.clock.setTimeout(resolve, pauseMs));
  }
}

/** The step's attempt, or a rejection once it has hung for `timeoutMs` (the attempt itself runs on unobserved). */
async function bounded(step: CleanupStep, timeoutMs: number, clock: Clock): Promise<void> {
  let timer: { cancel(): void } | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => reject(new Error(`did not finish within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
  });
  try {
    await Promise.race([Promise.resolve().then(() => step.run()), hung]);
  } finally {
    timer?.cancel();
  }
}
