/** Periodic compaction that keeps the newest N revisions of history, for any backend. */
import { Storage } from './types';

export interface AutoCompaction {
  /** How often to compact. */
  readonly intervalMs: number;
  /** Keep this many most recent revisions of history (the watch-replay and continue window). */
  readonly keepRevisions: number;
}

/** Starts compacting `store` every `intervalMs`; returns the function that stops it. Failures wait for the next tick. */
export function scheduleCompaction(store: Pick<Storage, 'currentRevision' | 'compact'>, policy: AutoCompaction): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    store
      .currentRevision()
      .then((rev) => (rev - policy.keepRevisions > 0 ? store.compact(rev - policy.keepRevisions) : undefined))
      .catch((err: unknown) => console.error('storage: automatic compaction failed', { err }))
      .finally(() => (running = false));
  }, policy.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
