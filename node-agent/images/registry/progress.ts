/** Progress of blob transfers, reported per blob. */
export interface TransferProgress {
  readonly digest: string;
  readonly kind: 'config' | 'layer';
  /** Bytes so far (equal to total once done). */
  readonly current: number;
  readonly total: number;
  /** `exists`: already there, not sent; `mounted`: cross-repository mount; `transferring`; `done`. */
  readonly status: 'exists' | 'mounted' | 'transferring' | 'done';
}

export type ProgressCallback = (p: TransferProgress) => void;

/**
 * Runs `fn` over `items` with at most `limit` in flight. After a failure no new item starts, and the
 * first error is thrown only once the items in flight have settled, so a caller rolling back sees
 * every write they made.
 */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failure) {
      try {
        await fn(items[next++]);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}
