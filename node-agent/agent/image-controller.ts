/**
 * The Image controller of one node. Images are node-local, so it runs inside every node agent: each agent makes
 * every Image present in its own store (pull per `spec.pullPolicy`, build, or import), adds its name to
 * `status.nodes` when it holds `status.digest`, and reports progress as conditions and throttled Events.
 * `pullPolicy: Always` re-resolves the tag every `repullIntervalMs`. Failures retry with exponential back-off.
 *
 * With several nodes the top-level status is one node's view: a node whose digest differs from the one reported
 * does not overwrite it while other nodes are listed (no ping-pong); with Always every node converges on the
 * registry's digest. Deleting an Image leaves the stored image alone (containers may run it); `berth image prune`
 * and the store's GC reclaim it.
 */
import { ApiClient, Image, RESOURCES } from '../../client';
import { Controller, EventRecorder, findCondition, Informer, isConditionTrue, keyOf, listWatcherFor, Result, splitKey } from '../../controllers/runtime';
import type { ImageStore, PullOptions } from '../images';
import type { ContainerRuntime } from '../runtime/types';
import type { AgentPart } from './agent';
import { PullProgress } from './image-progress';
import type { ImageObjectView } from './image-provider';
import { acquireImage, activityOf, ImageSourceError, ImageSpec, pullPolicyOf, REASON_INVALID_NAME } from './image-sources';
import { describeImage, failed, ImageActivity, ImageStatus, inProgress, ready } from './image-status';

export interface ImageControllerOptions {
  readonly client: ApiClient;
  readonly nodeName: string;
  readonly store: ImageStore;
  /** Runs the RUN steps of builds. */
  readonly runtime: ContainerRuntime;
  /** Credentials, CA... for the registries this node pulls from. */
  readonly pullOptions?: PullOptions;
  /** How often an Image with pullPolicy Always re-resolves its tag; 5 minutes unless set. */
  readonly repullIntervalMs?: number;
  /** Retry back-off after a failure, doubling from `initialMs` up to `maxMs`; 10 s to 5 min unless set (kubelet's image back-off). */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** Progress (status and Events) at most this often during a pull; 2 s unless set. */
  readonly progressIntervalMs?: number;
  /** How long start() waits for the first list of Images; 10 s unless set. */
  readonly syncTimeoutMs?: number;
  readonly now?: () => number;
}

/** What this node last did for an Image (in memory; after an agent restart `restored` takes a Ready status of this generation as done). */
interface Attempt {
  readonly generation?: number;
  readonly at: number;
  readonly failures: number;
  /** When a failed attempt may be retried; Infinity when only a spec change can help. */
  readonly retryAt?: number;
}

export class ImageController implements AgentPart {
  readonly informer: Informer<Image>;
  private readonly controller: Controller;
  private readonly events: EventRecorder;
  private readonly attempts = new Map<string, Attempt>();
  private readonly now: () => number;

  constructor(private readonly opts: ImageControllerOptions) {
    this.now = opts.now ?? Date.now;
    this.informer = new Informer(listWatcherFor<Image>(opts.client, RESOURCES.images));
    this.events = new EventRecorder(opts.client, 'berth-image-controller', opts.nodeName);
    this.controller = new Controller({ name: `image@${opts.nodeName}`, reconcile: (key) => this.reconcile(key) });
    const enqueue = (img: Image) => this.controller.enqueue(keyOf(img));
    this.informer.addHandlers({ onAdd: enqueue, onUpdate: (_old, img) => enqueue(img), onDelete: enqueue });
  }

  /**
   * Waits for the first list of Images (so Containers naming one find it), but at most `syncTimeoutMs`: an agent whose
   * credentials may not list Images must still run its containers.
   */
  async start(): Promise<void> {
    this.informer.start();
    const timeoutMs = this.opts.syncTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const synced = await Promise.race([
      this.informer.waitForSync().then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!synced) this.log(undefined, new Error(`Images not listed within ${timeoutMs} ms; reconciling them once the list succeeds`));
    this.controller.start();
  }

  /** Stops watching; a pull or build in flight finishes in the background. */
  stop(): void {
    this.informer.stop();
    void this.controller.stop();
  }

  /** What a Container naming Image `name` of `namespace` runs: its digest once Ready (the agent's StoreImageProvider asks). */
  lookup(namespace: string, name: string): ImageObjectView | undefined {
    const img = this.informer.get(`${namespace}/${name}`);
    if (!img) return undefined;
    const ready = findCondition(img.status?.conditions, 'Ready');
    return ready?.status === 'True' ? { digest: img.status?.digest } : { message: ready?.message ?? 'waiting for the image controller' };
  }

  async reconcile(key: string): Promise<Result> {
    const img = this.informer.get(key);
    if (!img || img.metadata.deletionTimestamp) {
      this.attempts.delete(key);
      return {};
    }
    const spec = img.spec as unknown as ImageSpec;
    const generation = img.metadata.generation;
    const status = structuredClone((img.status ?? {}) as ImageStatus);
    const present = this.tryResolve(spec.ref);
    const last = this.attempts.get(key) ?? this.restored(key, status, present, generation);
    const now = this.now();
    if (last && last.generation === generation) {
      if (last.failures > 0 && now < (last.retryAt ?? 0)) return last.retryAt === Infinity ? {} : { requeueAfter: (last.retryAt ?? now) - now };
      const repull = spec.build === undefined && spec.import === undefined && pullPolicyOf(spec) === 'Always';
      const period = this.opts.repullIntervalMs ?? 300_000;
      if (last.failures === 0 && present !== undefined && !(repull && now - last.at >= period)) {
        await this.settle(img, spec, status, present);
        return repull ? { requeueAfter: period - (now - last.at) } : {};
      }
    }
    return this.makePresent(img, spec, status, present);
  }

  /** After an agent restart: a status Ready for this generation at the digest the store holds needs no new build or import. */
  private restored(key: string, status: ImageStatus, present: string | undefined, generation: number | undefined): Attempt | undefined {
    if (present === undefined || status.digest !== present || status.observedGeneration !== generation || !isConditionTrue(status.conditions, 'Ready')) return undefined;
    const attempt = { generation, at: this.now(), failures: 0 };
    this.attempts.set(key, attempt);
    return attempt;
  }

  /** Pull, build or import now; status and Events say how it goes. */
  private async makePresent(img: Image, spec: ImageSpec, initial: ImageStatus, before: string | undefined): Promise<Result> {
    const key = keyOf(img);
    const generation = img.metadata.generation;
    const activity = activityOf(spec);
    const wasReady = initial.phase === 'Ready' && initial.observedGeneration === generation && before !== undefined;
    let status = initial;
    // Progress callbacks write without waiting; one chain keeps the writes in order (the final one lands last).
    let writes = Promise.resolve();
    let written = true;
    const write = (next: ImageStatus): Promise<void> => {
      if (JSON.stringify(next) === JSON.stringify(status)) return writes;
      status = next;
      writes = writes.then(() => this.writeStatus(img, next)).catch((err) => {
        written = false;
        this.log(img, err);
      });
      return writes;
    };
    /** The outcome is written after any progress and, unlike progress, a failed write retries the reconcile. */
    const finish = async (next: ImageStatus): Promise<void> => {
      await writes;
      if (written && JSON.stringify(next) === JSON.stringify(status)) return;
      status = next;
      await this.writeStatus(img, next);
    };
    const note = (type: 'Normal' | 'Warning', reason: string, message: string) => this.events.record(img, type, reason, message).catch(() => undefined);
    // A quiet re-check of an Always tag shows progress only once blobs actually move.
    const progress = new PullProgress(spec.ref, (summary) => {
      void write(inProgress(status, activity, summary, generation));
      void note('Normal', 'Pulling', summary);
    }, this.opts.progressIntervalMs ?? 2000, this.now);
    if (!wasReady) {
      await write(inProgress(status, activity, `${activity.toLowerCase()} ${describeSource(spec)}`, generation));
      await note('Normal', activity, `${activity} ${describeSource(spec)} on node ${this.opts.nodeName}`);
    }
    const started = this.now();
    try {
      const digest = await acquireImage({ store: this.opts.store, runtime: this.opts.runtime, pullOptions: this.opts.pullOptions }, spec, {
        onPullProgress: progress.onProgress,
        onBuildLog: (line) => {
          if (!line.startsWith('Step ')) return;
          void write(inProgress(status, activity, line, generation));
          void note('Normal', 'BuildStep', line);
        },
      });
      // Unpacked too before it counts as present, as `docker pull` does: a container (or a Service's pre-pulled
      // rollout) then starts without waiting for layers to unpack.
      await this.opts.store.ensureUnpacked(this.opts.store.resolve(digest));
      this.attempts.set(key, { generation, at: this.now(), failures: 0 });
      await finish(ready(status, describeImage(this.opts.store, digest, spec.ref), activity, this.opts.nodeName, generation));
      if (digest !== before || !wasReady) {
        const seconds = ((this.now() - started) / 1000).toFixed(1);
        const moved = before !== undefined && digest !== before ? ` (the tag moved from ${before})` : '';
        await note('Normal', doneReason(activity), `${spec.ref} is ${digest} on node ${this.opts.nodeName}, ${seconds}s${moved}`);
      }
    } catch (err) {
      const reason = err instanceof ImageSourceError ? err.reason : 'Failed';
      const failures = (this.attempts.get(key)?.generation === generation ? this.attempts.get(key)!.failures : 0) + 1;
      const retryIn = reason === REASON_INVALID_NAME ? Infinity : this.backoffMs(failures);
      this.attempts.set(key, { generation, at: this.now(), failures, retryAt: this.now() + retryIn });
      const message = (err as Error).message.trim();
      // Ready stays while the image is usable: still here (a failed re-pull), or held by other nodes.
      const heldElsewhere = isConditionTrue(status.conditions, 'Ready') && (status.nodes ?? []).some((n) => n !== this.opts.nodeName);
      await finish(failed(status, activity, reason, message, generation, wasReady || heldElsewhere));
      await note('Warning', reason, Number.isFinite(retryIn) ? `${message} (retrying in ${Math.round(retryIn / 1000)}s)` : message);
      return Number.isFinite(retryIn) ? { requeueAfter: retryIn } : {};
    }
    return activity === 'Pulling' && pullPolicyOf(spec) === 'Always' ? { requeueAfter: this.opts.repullIntervalMs ?? 300_000 } : {};
  }

  /**
   * Nothing to do on this node: make the status say the image is here (adds this node to `status.nodes`). Another
   * node's different digest is left alone while that node is listed.
   */
  private async settle(img: Image, spec: ImageSpec, status: ImageStatus, present: string): Promise<void> {
    const generation = img.metadata.generation;
    const listed = status.digest === present && status.observedGeneration === generation && (status.nodes ?? []).includes(this.opts.nodeName);
    if (listed && isConditionTrue(status.conditions, 'Ready')) return;
    const others = (status.nodes ?? []).filter((n) => n !== this.opts.nodeName);
    if (status.digest !== undefined && status.digest !== present && others.length > 0) return;
    const next = ready(status, describeImage(this.opts.store, present, spec.ref), activityOf(spec), this.opts.nodeName, generation);
    if (JSON.stringify(next) !== JSON.stringify(status)) await this.writeStatus(img, next);
  }

  /** Replaces the whole status (a JSON patch `add` of /status): no precondition, so progress writes never conflict. */
  private async writeStatus(img: Image, status: ImageStatus): Promise<void> {
    const { namespace, name } = splitKey(keyOf(img));
    await this.opts.client.patch(RESOURCES.images, name, [{ op: 'add', path: '/status', value: status }], { namespace, type: 'json', subresource: 'status' });
  }

  private log(img: Image | undefined, err: unknown): void {
    console.error(JSON.stringify({ component: 'berth-image-controller', node: this.opts.nodeName, ...(img ? { image: keyOf(img) } : {}), err: (err as Error).message }));
  }

  private backoffMs(failures: number): number {
    const { initialMs, maxMs } = this.opts.backoff ?? { initialMs: 10_000, maxMs: 300_000 };
    return Math.min(maxMs, initialMs * 2 ** (failures - 1));
  }

  private tryResolve(ref: string): string | undefined {
    try {
      return this.opts.store.resolve(ref);
    } catch {
      return undefined;
    }
  }
}

function describeSource(spec: ImageSpec): string {
  if (spec.build) return `${spec.ref} from ${spec.build.context}/${spec.build.dockerfile ?? 'Dockerfile'}`;
  if (spec.import) return `${spec.ref} from ${spec.import.path}`;
  return spec.ref;
}

const doneReason = (activity: ImageActivity): string => ({ Pulling: 'Pulled', Building: 'Built', Importing: 'Imported' })[activity];
