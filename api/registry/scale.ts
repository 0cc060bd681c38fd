/** The `/scale` subresource: an autoscaling/v1 Scale view of an object's replica paths. */
import type { ResourceInfo, ScaleSubresource } from '../schema';
import type { StoredObject } from '../storage';
import { badRequest } from '../server/errors';
import { readPath } from './selectors';

export interface Scale {
  apiVersion: 'autoscaling/v1';
  kind: 'Scale';
  metadata: Record<string, unknown>;
  spec: { replicas: number };
  status: { replicas: number; selector?: string };
}

/** `.spec.replicas` → ['spec', 'replicas']. */
const steps = (jsonPath: string): string[] => jsonPath.replace(/^\./, '').split('.');

export const toScale = (scale: ScaleSubresource, obj: StoredObject): Scale => {
  const { name, namespace, uid, resourceVersion, creationTimestamp } = obj.metadata as Record<string, unknown>;
  const result: Scale = {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: { name, namespace, uid, resourceVersion, creationTimestamp },
    spec: { replicas: Number(readPath(obj, steps(scale.specReplicasPath).join('.')) ?? 0) },
    status: { replicas: Number(readPath(obj, steps(scale.statusReplicasPath).join('.')) ?? 0) },
  };
  if (scale.labelSelectorPath) {
    const selector = readPath(obj, steps(scale.labelSelectorPath).join('.'));
    if (typeof selector === 'string') result.status.selector = selector;
  }
  return result;
};

/** Writes a Scale's desired replicas back into the object (the rest of the Scale is read-only). */
export const fromScale = (info: ResourceInfo, scale: ScaleSubresource, obj: StoredObject, next: unknown): StoredObject => {
  const replicas = (next as Scale | undefined)?.spec?.replicas;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)
    throw badRequest(`${info.kind} scale: spec.replicas must be a non-negative integer`);
  const path = steps(scale.specReplicasPath);
  let node = obj as Record<string, unknown>;
  for (const step of path.slice(0, -1)) {
    if (node[step] === null || typeof node[step] !== 'object') node[step] = {};
    node = node[step] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = replicas;
  return obj;
};
