import { Reconciler, TerminalError } from './types';
import { WorkQueue } from './workqueue';

export interface ControllerOptions {
  readonly name: string;
  readonly reconcile: Reconciler;
  readonly queue?: WorkQueue;
  /** Keys reconciled in parallel; one key is never reconciled twice at once. */
  readonly workers?: number;
  readonly log?: (msg: string, fields: Record<string, unknown>) => void;
}

/**
 * Drives a Reconciler from a WorkQueue (sample-controller's processNextWorkItem): success forgets the key's
 * failures, an error requeues it with back-off, a TerminalError is logged and dropped, `requeueAfter` schedules
 * the next look. Feed it keys from informer handlers with `enqueue`.
 */
export class Controller {
  readonly queue: WorkQueue;
  private running: Promise<void>[] = [];
  private readonly log: NonNullable<ControllerOptions['log']>;

  constructor(private readonly opts: ControllerOptions) {
    this.queue = opts.queue ?? new WorkQueue();
    this.log = opts.log ?? ((msg, fields) => console.error(JSON.stringify({ controller: opts.name, msg, ...fields })));
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  start(): void {
    if (this.running.length) return;
    const n = this.opts.workers ?? 2;
    for (let i = 0; i < n; i++) this.running.push(this.worker());
  }

  /** Stops taking keys and waits for reconciles in flight. */
  async stop(): Promise<void> {
    this.queue.shutdown();
    await Promise.all(this.running);
    this.running = [];
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        const result = await this.opts.reconcile(key);
        this.queue.forget(key);
        if (result?.requeueAfter) this.queue.addAfter(key, result.requeueAfter);
      } catch (err) {
        if (err instanceof TerminalError) {
          this.queue.forget(key);
          this.log('reconcile failed permanently', { key, err: err.message });
        } else {
          this.log('reconcile failed, will retry', { key, err: (err as Error).message, retries: this.queue.numRequeues(key) });
          this.queue.addRateLimited(key);
        }
      } finally {
        this.queue.done(key);
      }
    }
  }
}
