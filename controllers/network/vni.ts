/**
 * VXLAN network identifiers of overlay Networks: one per Network, unique in the cluster, kept once assigned,
 * lowest free first (so a deleted Network's VNI is reused). Pure; the controller records the choice in status.
 */

/** The 24-bit VNI space (0 is reserved). */
export const VNI_MIN = 1;
export const VNI_MAX = 16_777_215;
/** Picks start here, leaving 1–4095 to Networks that ask for a VNI in `spec.vni` (as VLAN-numbered setups do). */
export const VNI_POOL_FIRST = 4096;

export const REASON_INVALID_VNI = 'InvalidVNI';
export const REASON_VNI_IN_USE = 'VNIInUse';

/** A Network holding (or claiming) a VNI. `createdAt` orders contenders: the older Network keeps a contested VNI. */
export interface VniHolder {
  /** `namespace/name`, also the tie-breaker between Networks created in the same second. */
  readonly key: string;
  readonly createdAt: string;
  readonly vni: number;
}

export interface VniRequest {
  readonly key: string;
  readonly createdAt: string;
  /** `spec.vni`, if the user asked for one. */
  readonly requested?: number;
  /** `status.vni`, if one was assigned before. */
  readonly current?: number;
}

export type VniChoice = { readonly vni: number } | { readonly reason: string; readonly message: string };

/**
 * The VNI of Network `self` given the other overlay Networks' VNIs (assigned or claimed). A VNI someone holds
 * is not handed out again; a duplicate (two controllers, or two reconciles at once, chose the same) is settled
 * by age: the younger Network picks again.
 */
export function chooseVni(self: VniRequest, others: readonly VniHolder[]): VniChoice {
  const olderHolder = (vni: number) => others.find((o) => o.vni === vni && precedes(o, self));
  if (self.requested !== undefined) {
    if (!isVni(self.requested)) return { reason: REASON_INVALID_VNI, message: `spec.vni: ${self.requested} is not a VNI (an integer ${VNI_MIN}–${VNI_MAX})` };
    if (self.current !== undefined && self.current !== self.requested) {
      return { reason: REASON_INVALID_VNI, message: `spec.vni: cannot change from ${self.current} once assigned (nodes have VXLAN devices with it); delete and recreate the Network` };
    }
    // Not ours yet: anyone holding it keeps it. Already ours: only an older duplicate holder takes it away.
    const holder = self.current === self.requested ? olderHolder(self.requested) : others.find((o) => o.vni === self.requested);
    if (holder) return { reason: REASON_VNI_IN_USE, message: `spec.vni: ${self.requested} is already used by Network ${holder.key}` };
    return { vni: self.requested };
  }
  if (self.current !== undefined && isVni(self.current) && !olderHolder(self.current)) return { vni: self.current };
  const used = new Set(others.map((o) => o.vni));
  for (let vni = VNI_POOL_FIRST; vni <= VNI_MAX; vni++) if (!used.has(vni)) return { vni };
  return { reason: REASON_VNI_IN_USE, message: `no free VNI in ${VNI_POOL_FIRST}–${VNI_MAX}` };
}

function isVni(value: number): boolean {
  return Number.isInteger(value) && value >= VNI_MIN && value <= VNI_MAX;
}

function precedes(a: { key: string; createdAt: string }, b: { key: string; createdAt: string }): boolean {
  return a.createdAt < b.createdAt || (a.createdAt === b.createdAt && a.key < b.key);
}
