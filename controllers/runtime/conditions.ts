export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason?: string;
  message?: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

/**
 * Sets `cond` in `conditions` (returning a new array): `lastTransitionTime` changes only when the status flips,
 * as apimachinery's meta.SetStatusCondition does, so repeated reconciles write nothing new.
 */
export function setCondition(conditions: readonly Condition[] | undefined, cond: Condition, now = new Date()): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === cond.type);
  const prev = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    ...cond,
    lastTransitionTime:
      prev && prev.status === cond.status && prev.lastTransitionTime ? prev.lastTransitionTime : now.toISOString(),
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}
