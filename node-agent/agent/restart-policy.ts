export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

export interface BackOffOptions {
  /** First delay after a failed run (Kubernetes: 10 s). */
  readonly initialMs: number;
  /** Cap (Kubernetes: 5 min). */
  readonly maxMs: number;
  /** A run that lasted this long resets the back-off (Kubernetes: 10 min). */
  readonly resetAfterMs: number;
}

export const KUBERNETES_BACKOFF: BackOffOptions = { initialMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

/** Whether a container that exited with `exitCode` runs again under `policy`. */
export function shouldRestart(policy: RestartPolicy, exitCode: number): boolean {
  return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
}

/**
 * Kubernetes' CrashLoopBackOff: the first restart is immediate (a one-off crash heals at once); after that the
 * delay doubles with each consecutive short run, from `initialMs` up to `maxMs`; a run that lasted `resetAfterMs`
 * or more starts the count again. `consecutiveShortRuns` counts the runs before this one that ended too soon.
 */
export function restartDelay(runDurationMs: number, consecutiveShortRuns: number, opts: BackOffOptions = KUBERNETES_BACKOFF): {
  delayMs: number;
  consecutiveShortRuns: number;
} {
  if (runDurationMs >= opts.resetAfterMs) return { delayMs: 0, consecutiveShortRuns: 0 };
  const delayMs = consecutiveShortRuns === 0 ? 0 : Math.min(opts.initialMs * 2 ** (consecutiveShortRuns - 1), opts.maxMs);
  return { delayMs, consecutiveShortRuns: consecutiveShortRuns + 1 };
}
