import { ApiClient, isAlreadyExistsError, isNotFoundError, KubeObject, ResourceRef, RESOURCES } from '../../client';
import type { LeaseLock, LeaseRecord } from './leader';
import type { ListWatcher } from './types';

export interface Scope {
  /** A namespace, or '' for all namespaces (the default). */
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

/** List+watch of one resource over the API, as any operator would do it (the informer's source). */
export function listWatcherFor<T extends KubeObject>(client: ApiClient, ref: ResourceRef, scope: Scope = {}): ListWatcher<T> {
  const namespace = scope.namespace ?? '';
  return {
    async list() {
      const list = await client.list<T>(ref, { namespace, labelSelector: scope.labelSelector, fieldSelector: scope.fieldSelector });
      return { items: list.items, resourceVersion: list.metadata.resourceVersion ?? '' };
    },
    watch(resourceVersion, onEvent, onClose) {
      const opts = { namespace, labelSelector: scope.labelSelector, fieldSelector: scope.fieldSelector, resourceVersion, allowWatchBookmarks: true };
      return client.watch<T>(ref, opts, onEvent, onClose);
    },
  };
}

interface LeaseObject extends KubeObject {
  spec?: LeaseRecord;
}

/** A LeaseLock on a `berth.dev/v1 Lease`; updates carry the resourceVersion read, so a lost race fails with 409. */
export function leaseLockFor(client: ApiClient, namespace: string, name: string): LeaseLock {
  const ref = RESOURCES.leases;
  return {
    async get() {
      try {
        const lease = await client.get<LeaseObject>(ref, name, namespace);
        return { spec: lease.spec ?? {}, resourceVersion: lease.metadata.resourceVersion ?? '' };
      } catch (err) {
        if (isNotFoundError(err)) return undefined;
        throw err;
      }
    },
    async create(spec) {
      try {
        await client.create<LeaseObject>(ref, { metadata: { name, namespace }, spec });
      } catch (err) {
        if (isAlreadyExistsError(err)) throw new Error(`lease ${namespace}/${name} was taken meanwhile`, { cause: err });
        throw err;
      }
    },
    async update(spec, resourceVersion) {
      await client.update<LeaseObject>(ref, { metadata: { name, namespace, resourceVersion }, spec });
    },
  };
}
