/**
 * Which container holds which address on one Network: the allocations in status, brought in line with the
 * Containers that name the Network. Pure; the controller writes the result with a resourceVersion precondition.
 */
import { allocateAddress, releaseAddress, type IpamState, type NetworkAddressing } from '../../node-agent/network';

/** A Container that should hold an address: owner `namespace/name`. */
export interface AddressClaim {
  readonly owner: string;
}

export interface AllocationPlan {
  readonly state: IpamState;
  /** Claims that got no address, with why (pool exhausted). */
  readonly failures: ReadonlyArray<{ readonly owner: string; readonly message: string }>;
}

/**
 * Releases the addresses of owners no longer claiming one, keeps every held address (so restarts never move a
 * container), and allocates for new claims (lowest free first, so freed addresses are reused) unless `allowNew`
 * is false (a Network being deleted takes no new containers).
 */
export function planAllocations(addressing: NetworkAddressing, current: IpamState, claims: readonly AddressClaim[], allowNew = true): AllocationPlan {
  const claimed = new Set(claims.map((c) => c.owner));
  let state = current;
  for (const owner of Object.keys(current.allocations)) if (!claimed.has(owner)) state = releaseAddress(state, owner);
  const failures: Array<{ owner: string; message: string }> = [];
  for (const claim of claims) {
    if (!allowNew && !(claim.owner in state.allocations)) continue;
    try {
      state = allocateAddress(addressing, state, claim.owner).state;
    } catch (err) {
      failures.push({ owner: claim.owner, message: (err as Error).message });
    }
  }
  return { state, failures };
}
