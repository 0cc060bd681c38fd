import { Clock, realClock } from '../../controllers/runtime';
import { ProbeCheck, ProbeKind, ProbeSpec } from './types';

export interface ProbeWorkerOptions {
  readonly kind: ProbeKind;
  readonly spec: ProbeSpec;
  readonly check: ProbeCheck;
  /** Called when the probe's verdict flips (after the thresholds). */
  readonly onResult: (kind: ProbeKind, success: boolean, message: string) => void;
  readonly clock?: Clock;
}

/**
 * Runs one probe on Kubernetes' timing: the first attempt after initialDelaySeconds, then every periodSeconds;
 * the verdict flips to success after successThreshold consecutive successes and to failure after
 * failureThreshold consecutive failures. Readiness starts as failed; startup and liveness start as unknown.
 *
 * One departure: until a readiness probe has succeeded once, a failed attempt is retried after 50 ms, doubling up to
 * periodSeconds, instead of a whole period later. A new container is usually ready a few milliseconds after its first
 * probe missed it, and waiting a period there is what made rollouts and self-healing slow. Failures cannot flip a
 * verdict that is already "not ready", so the faster retries change nothing else.
 */
export class ProbeWorker {
  private timer?: { cancel(): void };
  private stopped = false;
  private successes = 0;
  private failures = 0;
  private verdict: boolean | undefined;
  private everSucceeded = false;
  private firstReadyRetryMs = FIRST_READY_RETRY_MS;
  private readonly clock: Clock;

  constructor(private readonly opts: ProbeWorkerOptions) {
    this.clock = opts.clock ?? realClock;
    if (opts.kind === 'readiness') this.verdict = false;
  }

  start(): void {
    this.schedule((this.opts.spec.initialDelaySeconds ?? 0) * 1000);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  private schedule(ms: number): void {
    if (!this.stopped) this.timer = this.clock.setTimeout(() => void this.attempt(), ms);
  }

  private async attempt(): Promise<void> {
    const spec = this.opts.spec;
    const ok = await this.opts.check((spec.timeoutSeconds ?? 1) * 1000);
    if (this.stopped) return;
    if (ok) {
      this.successes++;
      this.failures = 0;
    } else {
      this.failures++;
      this.successes = 0;
    }
    if (ok && this.successes >= (spec.successThreshold ?? 1) && this.verdict !== true) {
      this.verdict = true;
      this.opts.onResult(this.opts.kind, true, `${this.opts.kind} probe succeeded`);
    } else if (!ok && this.failures >= (spec.failureThreshold ?? 3) && this.verdict !== false) {
      this.verdict = false;
      this.opts.onResult(this.opts.kind, false, `${this.opts.kind} probe failed ${this.failures} times in a row`);
    }
    if (ok) this.everSucceeded = true;
    this.schedule(this.nextDelayMs(ok, (spec.periodSeconds ?? 10) * 1000));
  }

  private nextDelayMs(ok: boolean, periodMs: number): number {
    if (ok || this.everSucceeded || this.opts.kind !== 'readiness') return periodMs;
    const delay = Math.min(this.firstReadyRetryMs, periodMs);
    this.firstReadyRetryMs *= 2;
    return delay;
  }
}

const FIRST_READY_RETRY_MS = 50;
