/**
 * Pull progress as people read it: one line summing every blob of the pull ("2/3 blobs, 1.2 MB of 4.0 MB"),
 * emitted at most once per interval so a fast pull does not become hundreds of Events or status writes.
 */
import type { ProgressCallback, TransferProgress } from '../images';

export class PullProgress {
  private readonly blobs = new Map<string, TransferProgress>();
  private lastEmit = -Infinity;

  constructor(
    private readonly ref: string,
    private readonly emit: (summary: string) => void,
    private readonly intervalMs = 2000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Feed this to pullImage/ensureImage as `onProgress`. */
  readonly onProgress: ProgressCallback = (p) => {
    this.blobs.set(p.digest, p);
    // Blobs already in the store are counted but announce nothing: re-checking an unchanged tag stays quiet.
    if (p.status === 'exists') return;
    const t = this.now();
    if (t - this.lastEmit < this.intervalMs) return;
    this.lastEmit = t;
    this.emit(this.summary());
  };

  /** Blobs seen so far (the registry client reports a blob when its transfer starts). */
  summary(): string {
    const all = [...this.blobs.values()];
    const finished = all.filter((b) => b.current >= b.total).length;
    const current = all.reduce((n, b) => n + b.current, 0);
    const total = all.reduce((n, b) => n + b.total, 0);
    return `pulling ${this.ref}: ${finished}/${all.length} blobs, ${megabytes(current)} of ${megabytes(total)} MB`;
  }
}

const megabytes = (n: number): string => (n / 1e6).toFixed(1);
