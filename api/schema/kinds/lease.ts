/** Lease: a lease on a lock, shaped like coordination.k8s.io/v1 Lease (leader election, node heartbeats). */
import { int32, obj, str, time } from './dsl';
import { AGE_COLUMN, type KindDefinition } from './types';

export const lease: KindDefinition = {
  kind: 'Lease',
  plural: 'leases',
  categories: ['berth'],
  scope: 'Namespaced',
  description: 'Lease defines a lease concept, shaped like coordination.k8s.io/v1 Lease. Controllers elect leaders with it; node agents renew one per node as a heartbeat.',
  properties: {
    spec: obj('LeaseSpec is a specification of a Lease.', {
      holderIdentity: str('holderIdentity contains the identity of the holder of a current lease.'),
      leaseDurationSeconds: int32('leaseDurationSeconds is a duration that candidates for a lease need to wait to force acquire it. This is measured against the time of last observed renewTime.', { minimum: 1 }),
      acquireTime: time('acquireTime is a time when the current lease was acquired.'),
      renewTime: time('renewTime is a time when the current holder of a lease has last updated the lease.'),
      leaseTransitions: int32('leaseTransitions is the number of transitions of a lease between holders.', { minimum: 0 }),
      strategy: str('Strategy indicates the strategy for picking the leader for coordinated leader election.'),
      preferredHolder: str('PreferredHolder signals to a lease holder that the lease has a more optimal holder and should be given up.'),
    }),
  },
  statusSubresource: false,
  printerColumns: [{ name: 'Holder', type: 'string', jsonPath: '.spec.holderIdentity' }, AGE_COLUMN],
};
