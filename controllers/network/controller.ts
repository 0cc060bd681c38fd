import { ApiClient, Container, isAlreadyExistsError, isConflictError, isNotFoundError, Network, RESOURCES } from '../../client';
import { type ExistingSubnet, type NetworkAddressing, validateAddressing } from '../../node-agent/network';
import { Condition, Controller, EventRecorder, Informer, keyOf, listWatcherFor, Result, setCondition, splitKey } from '../runtime';
import { AddressClaim, planAllocations } from './allocations';
import { allocationOwner, DEFAULT_NETWORK, DEFAULT_NETWORK_LABEL, networkNamesOf } from './attachments';
import { DEFAULT_SUBNET_POOL, hostSubnets, pickSubnet, type SubnetPool } from './pool';
import { chooseVni, type VniChoice, type VniHolder } from './vni';

/** Keeps a Network (and its bridges on the nodes) while Containers still use it. */
export const NETWORK_FINALIZER = 'berth.dev/network-in-use';

export const REASON_READY = 'AddressingValid';
export const REASON_INVALID = 'InvalidAddressing';
export const REASON_POOL_EXHAUSTED = 'SubnetPoolExhausted';
export const REASON_SUBNET_CHANGED = 'SubnetChanged';
export const REASON_IN_USE = 'InUse';
export const REASON_ALLOCATION_FAILED = 'AddressAllocationFailed';

const DRIVERS_WITHOUT_IPAM = new Set(['host', 'none']);

export interface NetworkStatus {
  subnet?: string;
  gateway?: string;
  /** overlay: the VXLAN network identifier, unique among Networks. */
  vni?: number;
  allocations?: Record<string, string>;
  conditions?: Condition[];
  observedGeneration?: number;
}

export interface NetworkControllerOptions {
  /** Where Networks without `spec.subnet` get theirs; DEFAULT_SUBNET_POOL unless set. */
  readonly pool?: SubnetPool;
  /** Subnets a pool pick must avoid besides other Networks (the host's routes unless set). */
  readonly reservedSubnets?: () => Promise<ExistingSubnet[]>;
}

/**
 * IPAM through the API. For each Network: validates its addressing (or picks a subnet from the pool), then
 * keeps `status.allocations` equal to one address per Container of the namespace naming the Network — released
 * when the Container object is gone. The status is the source of truth, written with a resourceVersion
 * precondition so concurrent reconciles can never hand out one address twice. Creates each namespace's
 * `default` Network when a Container names no Network, and holds a Network's deletion (finalizer) until no
 * Container uses it.
 */
export class NetworkController {
  readonly networks: Informer<Network>;
  readonly containers: Informer<Container>;
  private readonly controller: Controller;
  private readonly events: EventRecorder;
  /**
   * VNIs this controller chose and may not see in its cache yet (`namespace/name` → holder): two overlay
   * Networks reconciled at once by the two workers must not both take the lowest free one.
   */
  private readonly vniClaims = new Map<string, VniHolder>();

  constructor(
    private readonly client: ApiClient,
    private readonly opts: NetworkControllerOptions = {},
  ) {
    this.networks = new Informer(listWatcherFor<Network>(client, RESOURCES.networks));
    this.containers = new Informer(listWatcherFor<Container>(client, RESOURCES.containers));
    this.events = new EventRecorder(client, 'berth-network-controller');
    this.controller = new Controller({ name: 'network', reconcile: (key) => this.reconcile(key) });
    const enqueue = (n: Network) => this.controller.enqueue(keyOf(n));
    this.networks.addHandlers({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n), onDelete: enqueue });
    const enqueueUsed = (c: Container) => {
      for (const n of networkNamesOf(c.spec)) this.controller.enqueue(`${c.metadata.namespace}/${n}`);
    };
    this.containers.addHandlers({
      onAdd: enqueueUsed,
      onUpdate: (old, c) => {
        enqueueUsed(old);
        enqueueUsed(c);
      },
      onDelete: enqueueUsed,
    });
  }

  async start(): Promise<void> {
    this.networks.start();
    this.containers.start();
    await Promise.all([this.networks.waitForSync(), this.containers.waitForSync()]);
    this.controller.start();
  }

  async stop(): Promise<void> {
    this.networks.stop();
    this.containers.stop();
    await this.controller.stop();
  }

  async reconcile(key: string): Promise<Result> {
    const { namespace = '', name } = splitKey(key);
    const users = this.usersOf(namespace, name);
    const net = this.networks.get(key);
    if (!net) {
      this.vniClaims.delete(key); // its VNI is free for the next overlay Network
      if (name === DEFAULT_NETWORK && users.length > 0) await this.createDefault(namespace);
      return {};
    }
    const deleting = !!net.metadata.deletionTimestamp;
    if (!deleting && !net.metadata.finalizers?.includes(NETWORK_FINALIZER)) {
      // Our own update event (or, on a conflict, the newer version's) brings the Network back.
      await this.patchFinalizers(net, [...(net.metadata.finalizers ?? []), NETWORK_FINALIZER]).catch((err) => {
        if (!isConflictError(err)) throw err;
      });
      return {};
    }
    const status = (net.status ?? {}) as NetworkStatus;
    const next = await this.desiredStatus(net, status, users, !deleting);
    try {
      if (JSON.stringify(next) !== JSON.stringify(status)) await this.writeStatus(net, next);
      if (deleting && users.length === 0 && net.metadata.finalizers?.includes(NETWORK_FINALIZER)) {
        await this.patchFinalizers(net, net.metadata.finalizers.filter((f) => f !== NETWORK_FINALIZER));
      }
    } catch (err) {
      // A stale cache: the newer version's watch event requeues this key, and the next reconcile starts from it.
      if (!isConflictError(err)) throw err;
    }
    return {};
  }

  /** Containers of the namespace that name this Network (terminating ones keep their address until they are gone). */
  private usersOf(namespace: string, network: string): Array<{ container: Container; claim: AddressClaim }> {
    return this.containers.list(namespace).flatMap((c) => {
      if (!networkNamesOf(c.spec).includes(network)) return [];
      return [{ container: c, claim: { owner: allocationOwner(namespace, c.metadata.name!) } }];
    });
  }

  private async desiredStatus(net: Network, status: NetworkStatus, users: ReturnType<NetworkController['usersOf']>, allowNew: boolean): Promise<NetworkStatus> {
    const generation = net.metadata.generation;
    const deleting = !allowNew;
    const ready = (reason: string, message: string): Condition[] =>
      setCondition(status.conditions, { type: 'Ready', status: deleting ? 'False' : 'True', reason: deleting ? REASON_IN_USE : reason, message: deleting ? `waiting for ${users.length} container(s) to leave` : message, observedGeneration: generation });
    if (DRIVERS_WITHOUT_IPAM.has(String(net.spec.driver))) {
      return { ...status, conditions: ready(REASON_READY, `driver ${net.spec.driver} needs no addresses`), observedGeneration: generation };
    }
    const notReady = async ({ reason, message }: { reason: string; message: string }): Promise<NetworkStatus> => {
      const conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason, message, observedGeneration: generation });
      if (JSON.stringify(conditions) !== JSON.stringify(status.conditions)) await this.events.record(net, 'Warning', reason, message).catch(() => undefined);
      return { ...status, conditions, observedGeneration: generation };
    };
    const addressing = await this.addressingOf(net, status);
    if ('reason' in addressing) return notReady(addressing);
    const vni = net.spec.driver === 'overlay' ? this.vniOf(net, status) : undefined;
    if (vni && 'reason' in vni) return notReady(vni);
    const plan = planAllocations(addressing, { allocations: status.allocations ?? {} }, users.map((u) => u.claim), allowNew);
    for (const f of plan.failures) {
      const user = users.find((u) => u.claim.owner === f.owner);
      if (user) await this.events.record(user.container, 'Warning', REASON_ALLOCATION_FAILED, `network ${net.metadata.name}: ${f.message}`).catch(() => undefined);
    }
    const inUse = Object.keys(plan.state.allocations).length;
    return {
      ...status,
      subnet: addressing.subnet,
      gateway: addressing.gateway,
      ...(vni ? { vni: vni.vni } : {}),
      allocations: plan.state.allocations,
      conditions: ready(REASON_READY, `${addressing.subnet} via ${addressing.gateway}${vni ? `, VNI ${vni.vni}` : ''}, ${inUse} address(es) allocated`),
      observedGeneration: generation,
    };
  }

  /** The Network's subnet and gateway: kept once accepted, else validated from spec or picked from the pool. */
  private async addressingOf(net: Network, status: NetworkStatus): Promise<NetworkAddressing | { reason: string; message: string }> {
    const spec = net.spec as { subnet?: string; gateway?: string };
    if (status.subnet && status.gateway) {
      const changed = (spec.subnet && spec.subnet !== status.subnet) || (spec.gateway && spec.gateway !== status.gateway);
      if (changed && Object.keys(status.allocations ?? {}).length > 0) {
        return { reason: REASON_SUBNET_CHANGED, message: `spec.subnet/spec.gateway cannot change while addresses are allocated (in use: ${status.subnet} via ${status.gateway})` };
      }
      if (!changed) return { subnet: status.subnet, gateway: status.gateway };
    }
    const others = this.networks
      .list()
      .filter((n) => n.metadata.uid !== net.metadata.uid && (n.status as NetworkStatus | undefined)?.subnet)
      .map((n) => ({ name: keyOf(n), subnet: (n.status as NetworkStatus).subnet! }));
    try {
      if (spec.subnet) return validateAddressing({ subnet: spec.subnet, gateway: spec.gateway }, others);
      const pool = this.opts.pool ?? DEFAULT_SUBNET_POOL;
      const subnet = pickSubnet(pool, [...others, ...(await (this.opts.reservedSubnets ?? hostSubnets)())]);
      if (!subnet) return { reason: REASON_POOL_EXHAUSTED, message: `no /${pool.prefixLength} of pool ${pool.cidr} is free (all overlap other Networks or host routes)` };
      return validateAddressing({ subnet, gateway: spec.gateway }, others);
    } catch (err) {
      return { reason: REASON_INVALID, message: (err as Error).message };
    }
  }

  /** The overlay Network's VNI: kept once assigned, `spec.vni` if asked for and free, else the lowest free one. */
  private vniOf(net: Network, status: NetworkStatus): VniChoice {
    const key = keyOf(net);
    const holders = new Map<string, VniHolder>();
    for (const other of this.networks.list()) {
      const vni = (other.status as NetworkStatus | undefined)?.vni;
      if (other.spec.driver === 'overlay' && vni !== undefined) holders.set(keyOf(other), { key: keyOf(other), createdAt: other.metadata.creationTimestamp ?? '', vni });
    }
    for (const [claimant, claim] of this.vniClaims) if (this.networks.get(claimant)) holders.set(claimant, claim);
    holders.delete(key);
    const createdAt = net.metadata.creationTimestamp ?? '';
    const choice = chooseVni({ key, createdAt, requested: (net.spec as { vni?: number }).vni, current: status.vni }, [...holders.values()]);
    if ('vni' in choice) this.vniClaims.set(key, { key, createdAt, vni: choice.vni });
    return choice;
  }

  private async writeStatus(net: Network, status: NetworkStatus): Promise<void> {
    // The cached resourceVersion is the precondition: a stale cache or a concurrent writer gets a 409 and retries.
    await this.client.updateStatus(RESOURCES.networks, { ...structuredClone(net), status: status as Record<string, unknown> });
  }

  private async patchFinalizers(net: Network, finalizers: string[]): Promise<void> {
    try {
      await this.client.patch(RESOURCES.networks, net.metadata.name!, { metadata: { finalizers, resourceVersion: net.metadata.resourceVersion } }, { namespace: net.metadata.namespace });
    } catch (err) {
      if (!isNotFoundError(err)) throw err;
    }
  }

  private async createDefault(namespace: string): Promise<void> {
    try {
      await this.client.create(RESOURCES.networks, {
        metadata: { name: DEFAULT_NETWORK, namespace, labels: { [DEFAULT_NETWORK_LABEL]: 'true' }, finalizers: [NETWORK_FINALIZER] },
        spec: { driver: 'bridge' },
      });
    } catch (err) {
      if (!isAlreadyExistsError(err) && !isConflictError(err)) throw err;
    }
  }
}
