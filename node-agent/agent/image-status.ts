/**
 * `Image.status` as the node's image controller writes it: what the store holds for a digest (layers, sizes, the
 * config a container inherits) and the conditions that say how the last attempt went.
 */
import { Condition, setCondition } from '../../controllers/runtime';
import { formatReference, ImageStore, parseReference } from '../images';

export type ImagePhase = 'Pending' | 'Pulling' | 'Importing' | 'Building' | 'Ready' | 'Failed';

/** The kind of work that makes an Image present; also the name of its progress condition. */
export type ImageActivity = 'Pulling' | 'Building' | 'Importing';

export interface ImageLayerStatus {
  digest: string;
  diffID?: string;
  size: number;
  mediaType: string;
}

export interface ImageStatus {
  phase?: ImagePhase;
  message?: string;
  digest?: string;
  resolvedRef?: string;
  mediaType?: string;
  size?: number;
  layers?: ImageLayerStatus[];
  config?: Record<string, unknown>;
  nodes?: string[];
  conditions?: Condition[];
  observedGeneration?: number;
}

export const REASON_PRESENT = 'Present';
export const REASON_COMPLETED = 'Completed';
export const REASON_IN_PROGRESS = 'InProgress';

/** Digest, layers (base first), total layer size and the inherited config of a stored image. */
export function describeImage(store: ImageStore, digest: string, ref: string): ImageStatus {
  const { manifest, config } = store.inspect(digest);
  const layers = manifest.layers.map((l, i) => ({
    digest: l.digest,
    ...(config.rootfs?.diff_ids?.[i] ? { diffID: config.rootfs.diff_ids[i] } : {}),
    size: l.size,
    mediaType: l.mediaType,
  }));
  const parsed = parseReference(ref);
  const c = config.config ?? {};
  const inherited = {
    ...(c.Entrypoint ? { entrypoint: c.Entrypoint } : {}),
    ...(c.Cmd ? { cmd: c.Cmd } : {}),
    ...(c.Env ? { env: c.Env } : {}),
    ...(c.WorkingDir ? { workingDir: c.WorkingDir } : {}),
    ...(c.User ? { user: c.User } : {}),
    ...(c.ExposedPorts ? { exposedPorts: Object.keys(c.ExposedPorts) } : {}),
    ...(c.Labels ? { labels: c.Labels } : {}),
  };
  return {
    digest,
    resolvedRef: formatReference({ registry: parsed.registry, repository: parsed.repository, digest }),
    ...(manifest.mediaType ? { mediaType: manifest.mediaType } : {}),
    size: layers.reduce((n, l) => n + l.size, 0),
    layers,
    config: inherited,
  };
}

/** The status while `activity` runs: Ready stays as it was if the image was ready (a re-pull of a moved tag). */
export function inProgress(status: ImageStatus, activity: ImageActivity, message: string, generation: number | undefined): ImageStatus {
  const wasReady = status.phase === 'Ready';
  let conditions = setCondition(status.conditions, { type: activity, status: 'True', reason: REASON_IN_PROGRESS, message, observedGeneration: generation });
  if (!wasReady) conditions = setCondition(conditions, { type: 'Ready', status: 'False', reason: activity, message, observedGeneration: generation });
  return { ...status, phase: wasReady ? 'Ready' : activity, message, conditions };
}

/** The status once the image is present on `node` as `present` (digest, layers...). */
export function ready(status: ImageStatus, present: ImageStatus, activity: ImageActivity, node: string, generation: number | undefined): ImageStatus {
  const sameDigest = status.digest === present.digest;
  const nodes = [...new Set([...(sameDigest ? status.nodes ?? [] : []), node])].sort();
  const message = `${present.resolvedRef} is present on ${nodes.join(', ')}`;
  let conditions = setCondition(status.conditions, { type: 'Ready', status: 'True', reason: REASON_PRESENT, message, observedGeneration: generation });
  if (conditions.some((c) => c.type === activity)) {
    conditions = setCondition(conditions, { type: activity, status: 'False', reason: REASON_COMPLETED, message: `${activity.toLowerCase()} done`, observedGeneration: generation });
  }
  const { message: _previous, ...rest } = status;
  return { ...rest, ...present, phase: 'Ready', nodes, conditions, observedGeneration: generation };
}

/**
 * The status after `activity` failed with `reason` (ErrImagePull, BuildFailed...). `stillReady`: the image the status
 * describes is still on the node (a periodic re-pull failed), so Ready stays and only the activity's condition fails.
 */
export function failed(status: ImageStatus, activity: ImageActivity, reason: string, message: string, generation: number | undefined, stillReady: boolean): ImageStatus {
  let conditions = setCondition(status.conditions, { type: activity, status: 'False', reason, message, observedGeneration: generation });
  if (stillReady) return { ...status, conditions };
  conditions = setCondition(conditions, { type: 'Ready', status: 'False', reason, message, observedGeneration: generation });
  return { ...status, phase: 'Failed', message, conditions, observedGeneration: generation };
}
