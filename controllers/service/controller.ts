import { ApiClient, BerthNode, Container, Image, isAlreadyExistsError, isNotFoundError, KubeObject, RESOURCES, Secret, Service } from '../../client';
import { Condition, Controller, EventRecorder, Informer, keyOf, listWatcherFor, Result, setCondition, splitKey } from '../runtime';
import { plan } from './plan';
import { isPrePullMessage, PRE_PULL_LABEL, prePullImage, prePullState, servesRef, targetNodes, type PrePullState } from './pre-pull';
import { canonicalJson, containerName } from './revision';
import { pinnedImage, referencedSecrets, revisionInputs, type RevisionInputs } from './revision-inputs';
import type { Plan, Replica, RolloutStatus, StrategySpec, TrafficStats } from './types';

export const SERVICE_LABEL = 'berth.dev/service';
export const REVISION_LABEL = 'berth.dev/revision';
export const PROMOTE_ANNOTATION = 'berth.dev/promote';
export const ABORT_ANNOTATION = 'berth.dev/abort';
export const RETRY_ANNOTATION = 'berth.dev/retry';

/** One entry of `status.revisions`: what `rollout history` lists and `undo` restores. */
export interface RevisionRecord {
  name: string;
  number: number;
  template: Service['spec']['template'];
  images?: Record<string, string>;
  secrets?: Record<string, string>;
  createdAt?: string;
}

interface ServiceStatus {
  replicas: number;
  readyReplicas: number;
  updatedReplicas: number;
  availableReplicas: number;
  currentRevision?: string;
  updateRevision: string;
  observedGeneration?: number;
  selector: string;
  weights: Record<string, number>;
  rollout: RolloutStatus;
  conditions: Condition[];
  traffic?: Record<string, TrafficStats>;
  revisions?: RevisionRecord[];
}

const int = (v: unknown, fallback: number): number => (typeof v === 'number' ? v : fallback);

/**
 * Keeps each Service's Containers as its spec and strategy say: computes the revision, asks the rollout planner
 * for the next step and carries it out through the API (creates with ownerReferences, deletes), then writes status.
 * Level-triggered: every Container change requeues its owning Service.
 */
export class ServiceController {
  readonly services: Informer<Service>;
  readonly containers: Informer<Container>;
  private readonly images: Informer<Image>;
  private readonly secrets: Informer<Secret>;
  /** Where new containers may land: the nodes a new revision's image is pre-pulled on. */
  private readonly nodes: Informer<BerthNode>;
  private readonly controller: Controller;
  private readonly events: EventRecorder;

  constructor(private readonly client: ApiClient, private readonly now: () => number = Date.now) {
    this.services = new Informer(listWatcherFor<Service>(client, RESOURCES.services));
    this.containers = new Informer(listWatcherFor<Container>(client, RESOURCES.containers, { labelSelector: SERVICE_LABEL }));
    this.events = new EventRecorder(client, 'berth-service-controller');
    this.controller = new Controller({ name: 'service', reconcile: (key) => this.reconcile(key) });
    const enqueue = (s: Service) => this.controller.enqueue(keyOf(s));
    this.services.addHandlers({ onAdd: enqueue, onUpdate: (_o, s) => enqueue(s) });
    const enqueueOwner = (c: Container) => {
      const owner = c.metadata.ownerReferences?.find((r) => r.controller && r.kind === 'Service');
      if (owner) this.controller.enqueue(`${c.metadata.namespace}/${owner.name}`);
    };
    this.containers.addHandlers({ onAdd: enqueueOwner, onUpdate: (_o, c) => enqueueOwner(c), onDelete: enqueueOwner });
    // A moved tag or a rotated Secret changes the revision of the Services that use it.
    this.images = new Informer(listWatcherFor<Image>(client, RESOURCES.images));
    this.secrets = new Informer(listWatcherFor<Secret>(client, RESOURCES.secrets));
    const enqueueUsers = (namespace: string | undefined, uses: (s: Service) => boolean) => {
      for (const svc of this.services.list(namespace)) if (uses(svc)) enqueue(svc);
    };
    const imageChanged = (i: Image) => enqueueUsers(i.metadata.namespace, (svc) => servesRef(i, svc.spec.template.spec.image));
    const secretChanged = (sec: Secret) => enqueueUsers(sec.metadata.namespace, (svc) => referencedSecrets(svc.spec.template).includes(sec.metadata.name!));
    this.images.addHandlers({ onAdd: imageChanged, onUpdate: (_o, i) => imageChanged(i) });
    this.secrets.addHandlers({ onAdd: secretChanged, onUpdate: (_o, sec) => secretChanged(sec), onDelete: secretChanged });
    this.nodes = new Informer(listWatcherFor<BerthNode>(client, RESOURCES.nodes));
  }

  private get informers(): Array<Informer<KubeObject>> {
    return [this.services, this.containers, this.images, this.secrets, this.nodes] as Array<Informer<KubeObject>>;
  }

  async start(): Promise<void> {
    for (const i of this.informers) i.start();
    await Promise.all(this.informers.map((i) => i.waitForSync()));
    this.controller.start();
  }

  async stop(): Promise<void> {
    for (const i of this.informers) i.stop();
    await this.controller.stop();
  }

  async reconcile(key: string): Promise<Result> {
    const svc = this.services.get(key);
    if (!svc || svc.metadata.deletionTimestamp) return {};
    const spec = svc.spec;
    const status = (svc.status ?? {}) as Partial<ServiceStatus>;
    const inputs = revisionInputs(spec.template, svc.metadata.namespace!, this.images, this.secrets);
    const updateRevision = inputs.name;
    const owned = this.ownedReplicas(svc, int(spec.minReadySeconds, 0));
    const annotations = svc.metadata.annotations ?? {};
    const rollingOut = !!status.currentRevision && updateRevision !== status.currentRevision && status.rollout?.abortedRevision !== updateRevision;
    const prePull: PrePullState = rollingOut ? await this.prePull(svc, (status.revisions ?? []).find((r) => r.name === status.currentRevision)) : { done: true };
    if (prePull.done && prePull.message && isPrePullMessage(status.rollout?.message)) {
      await this.events.record(svc, prePull.failed ? 'Warning' : 'Normal', prePull.failed ? 'PrePullFailed' : 'PrePulled', prePull.message).catch(() => undefined);
    }
    const p = plan({
      service: svc.metadata.name!,
      replicas: int(spec.replicas, 1),
      strategy: (spec.strategy as StrategySpec | undefined) ?? { type: 'RollingUpdate' },
      updateRevision,
      currentRevision: status.currentRevision,
      owned,
      rollout: status.rollout,
      paused: spec.paused === true,
      promote: annotations[PROMOTE_ANNOTATION],
      abort: annotations[ABORT_ANNOTATION],
      retry: annotations[RETRY_ANNOTATION],
      canaryTraffic: status.traffic?.[updateRevision],
      previousUpdateRevision: status.updateRevision,
      prePulling: prePull.done ? undefined : prePull.message,
      progressDeadlineSeconds: int(spec.progressDeadlineSeconds, 600),
      now: this.now(),
    });
    // While pre-pulling, the digest the pull resolves is not yet part of the revision: record the revision it makes.
    const revisions = prePull.done ? recordRevision(status.revisions ?? [], inputs, spec.template, p.currentRevision, int(spec.revisionHistoryLimit, 10), this.now()) : status.revisions ?? [];
    await this.carryOut(svc, p, revisions);
    await this.prunePrePulls(svc, revisions);
    await this.writeStatus(svc, p, updateRevision, owned, revisions);
    return p.requeueAfterMs ? { requeueAfter: p.requeueAfterMs } : {};
  }

  /**
   * Pre-pulls the template's image on the nodes before its rollout starts any container (pre-pull.ts): ensures an
   * Image object pulls it and says how far that is. Nothing to do for the image the current revision already runs.
   */
  private async prePull(svc: Service, current: RevisionRecord | undefined): Promise<PrePullState> {
    const spec = svc.spec.template.spec as Container['spec'] & { imagePullPolicy?: string };
    const ref = spec.image;
    if (!current || current.template.spec.image === ref || spec.imagePullPolicy === 'Never') return { done: true };
    const nodes = targetNodes(this.nodes.list());
    if (nodes.length === 0) return { done: true };
    const image = this.images.list(svc.metadata.namespace).find((i) => servesRef(i, ref));
    if (!image) {
      await this.client.create(RESOURCES.images, prePullImage(svc, ref)).catch((err) => {
        if (!isAlreadyExistsError(err)) throw err;
      });
      await this.events.record(svc, 'Normal', 'PrePulling', `pre-pulling ${ref} on ${nodes.join(', ')} before the rollout starts containers`).catch(() => undefined);
    }
    return prePullState(ref, image, nodes);
  }

  /** Deletes the pre-pull Images of references no kept revision runs (the stored images stay; the nodes' GC reclaims them). */
  private async prunePrePulls(svc: Service, revisions: readonly RevisionRecord[]): Promise<void> {
    const used = new Set([svc.spec.template.spec.image, ...revisions.map((r) => r.template.spec.image)]);
    const stale = this.images
      .list(svc.metadata.namespace)
      .filter((i) => i.metadata.labels?.[PRE_PULL_LABEL] === svc.metadata.name && i.metadata.ownerReferences?.some((o) => o.uid === svc.metadata.uid) && !used.has(i.spec.ref));
    for (const i of stale) {
      await this.client.delete(RESOURCES.images, i.metadata.name!, { namespace: svc.metadata.namespace }).catch((err) => {
        if (!isNotFoundError(err)) throw err;
      });
    }
  }

  /** The Containers this Service controls, as the planner sees them. */
  private ownedReplicas(svc: Service, minReadySeconds: number): Replica[] {
    const now = this.now();
    return this.containers
      .list(svc.metadata.namespace)
      .filter((c) => c.metadata.ownerReferences?.some((r) => r.controller && r.uid === svc.metadata.uid))
      .map((c) => {
        const st = (c.status ?? {}) as { ready?: boolean; phase?: string; reason?: string; restartCount?: number; conditions?: Condition[] };
        const readySince = st.conditions?.find((x) => x.type === 'Ready' && x.status === 'True')?.lastTransitionTime;
        const ready = st.ready === true;
        const available = ready && (minReadySeconds === 0 || (!!readySince && now - Date.parse(readySince) >= minReadySeconds * 1000));
        const index = Number(c.metadata.name!.slice(c.metadata.name!.lastIndexOf('-') + 1));
        return {
          name: c.metadata.name!,
          revision: c.metadata.labels?.[REVISION_LABEL] ?? '',
          index: Number.isInteger(index) ? index : -1,
          ready,
          available,
          failed: st.phase === 'Failed',
          crashLooping: st.reason === 'CrashLoopBackOff',
          terminating: !!c.metadata.deletionTimestamp,
          readySince: ready && readySince ? Date.parse(readySince) : undefined,
          restartCount: st.restartCount ?? 0,
          createdAt: c.metadata.creationTimestamp ? Date.parse(c.metadata.creationTimestamp) : undefined,
        };
      });
  }

  private async carryOut(svc: Service, p: Plan, revisions: readonly RevisionRecord[]): Promise<void> {
    const namespace = svc.metadata.namespace!;
    for (const name of p.delete) {
      await this.client.delete(RESOURCES.containers, name, { namespace }).catch((err) => {
        if (!isNotFoundError(err)) throw err;
      });
    }
    // Created CREATES_IN_FLIGHT at a time: one after another, a scale-up of 100 waits for 100 round trips.
    await inParallel(p.create, CREATES_IN_FLIGHT, async (c) => {
      const name = containerName(svc.metadata.name!, c.revision, c.index);
      // Each revision's containers are made from that revision's own template and digests (healing the stable
      // revision during an aborted rollout must not start the new template).
      const record = revisions.find((r) => r.name === c.revision);
      const template = record?.template ?? svc.spec.template;
      const spec = { ...structuredClone(template.spec), image: pinnedImage(template.spec.image, { images: record?.images ?? {} }) };
      const container: KubeObject = {
        metadata: {
          name,
          namespace,
          labels: { ...(template.metadata?.labels ?? {}), [SERVICE_LABEL]: svc.metadata.name!, [REVISION_LABEL]: c.revision },
          ownerReferences: [{ apiVersion: 'berth.dev/v1', kind: 'Service', name: svc.metadata.name!, uid: svc.metadata.uid!, controller: true, blockOwnerDeletion: true }],
        },
        spec,
      };
      await this.client.create(RESOURCES.containers, container).catch((err) => {
        if (!isAlreadyExistsError(err)) throw err;
      });
    });
    if (p.rollout.phase !== (svc.status as Partial<ServiceStatus> | undefined)?.rollout?.phase) {
      const type = p.rollout.phase === 'Aborted' || p.rollout.phase === 'RolledBack' || p.rollout.phase === 'Degraded' ? 'Warning' : 'Normal';
      await this.events.record(svc, type, `Rollout${p.rollout.phase}`, p.rollout.message ?? p.rollout.phase).catch(() => undefined);
    }
  }

  private async writeStatus(svc: Service, p: Plan, updateRevision: string, owned: Replica[], revisions: RevisionRecord[]): Promise<void> {
    const prev = (svc.status ?? {}) as Partial<ServiceStatus>;
    const replicas = int(svc.spec.replicas, 1);
    const live = owned.filter((r) => !r.terminating);
    const available = live.filter((r) => r.available).length;
    const generation = svc.metadata.generation;
    let conditions = prev.conditions ?? [];
    conditions = setCondition(conditions, {
      type: 'Available',
      status: available >= replicas ? 'True' : 'False',
      reason: available >= replicas ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
      message: `${available} of ${replicas} replicas available`,
      observedGeneration: generation,
    });
    const deadline = int(svc.spec.progressDeadlineSeconds, 600) * 1000;
    const stuck = p.progressDeadlineExceeded === true;
    const ended = p.rollout.phase === 'Aborted' || p.rollout.phase === 'RolledBack';
    conditions = setCondition(conditions, {
      type: 'Progressing',
      status: stuck || ended ? 'False' : 'True',
      reason: stuck ? 'ProgressDeadlineExceeded' : ended ? `Rollout${p.rollout.phase}` : p.rollout.phase === 'Healthy' ? 'NewRevisionAvailable' : 'RolloutInProgress',
      message: stuck ? `revision ${updateRevision} has not progressed for ${deadline / 1000}s` : p.rollout.message,
      observedGeneration: generation,
    });
    const degraded = ended || stuck;
    conditions = setCondition(conditions, {
      type: 'Degraded',
      status: degraded ? 'True' : 'False',
      reason: degraded ? (stuck ? 'ProgressDeadlineExceeded' : `Rollout${p.rollout.phase}`) : 'AsExpected',
      message: degraded ? p.rollout.message : undefined,
      observedGeneration: generation,
    });
    const status: ServiceStatus = {
      replicas: live.length,
      readyReplicas: live.filter((r) => r.ready).length,
      updatedReplicas: live.filter((r) => r.revision === updateRevision).length,
      availableReplicas: available,
      currentRevision: p.currentRevision,
      updateRevision,
      observedGeneration: generation,
      selector: `${SERVICE_LABEL}=${svc.metadata.name}`,
      weights: { ...p.weights },
      rollout: p.rollout,
      revisions,
      conditions,
    };
    if (p.previewRevision) status.rollout = { ...status.rollout, previewRevision: p.previewRevision };
    if (sameStatus(prev, status)) return;
    const { namespace, name } = splitKey(keyOf(svc));
    // Merge patch with nulls for what went away: the planner's status is the whole truth about these fields.
    await this.client.patch(RESOURCES.services, name, { status: { ...nullsFor(prev, status), ...status, rollout: { ...nullsFor(prev.rollout ?? {}, status.rollout), ...status.rollout }, weights: { ...nullsFor(prev.weights ?? {}, status.weights), ...status.weights } } }, { namespace, subresource: 'status' });
  }
}

/**
 * `status.revisions` with the update revision recorded (numbered after the newest) and trimmed to the current and
 * update revisions plus `limit` older ones.
 */
export function recordRevision(
  revisions: readonly RevisionRecord[],
  inputs: RevisionInputs,
  template: Service['spec']['template'],
  currentRevision: string | undefined,
  limit: number,
  now: number,
): RevisionRecord[] {
  let list = [...revisions];
  if (!list.some((r) => r.name === inputs.name)) {
    const number = Math.max(0, ...list.map((r) => r.number)) + 1;
    list.push({ name: inputs.name, number, template: structuredClone(template), images: inputs.images, secrets: inputs.secrets, createdAt: new Date(now).toISOString() });
  }
  const keep = new Set([inputs.name, currentRevision]);
  const older = list.filter((r) => !keep.has(r.name)).slice(-limit);
  list = list.filter((r) => keep.has(r.name) || older.includes(r));
  return list;
}

/** Merge-patch nulls for the fields `next` drops (the agent-written `traffic` is not ours to drop). */
function nullsFor(prev: object, next: object): Record<string, null> {
  const out: Record<string, null> = {};
  for (const k of Object.keys(prev)) if (k !== 'traffic' && (!(k in next) || (next as Record<string, unknown>)[k] === undefined)) out[k] = null;
  for (const [k, v] of Object.entries(next)) if (v === undefined) out[k] = null;
  return out;
}

/** Equal up to key order and undefined fields, ignoring `traffic`: then nothing needs writing. */
function sameStatus(prev: Partial<ServiceStatus>, next: ServiceStatus): boolean {
  const { traffic: _traffic, ...rest } = prev;
  return canonicalJson(rest) === canonicalJson(next);
}

/** Creates of one reconcile in flight at once. */
const CREATES_IN_FLIGHT = 8;

/** Runs `work` for each item, at most `limit` at once; rejects with the first failure once all have settled. */
async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const failures: unknown[] = [];
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      await work(item).catch((err: unknown) => void failures.push(err));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failures.length > 0) throw failures[0];
}
