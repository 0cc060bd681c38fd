import { ApiClient, isNotFoundError, RESOURCES } from '../../client';
import { EventRecorder, setCondition } from '../../controllers/runtime';
import type { Condition } from '../../controllers/runtime';
import type { ContainerObject, ContainerStatusReport, StatusReporter } from './types';

export const AGENT_FINALIZER = 'berth.dev/agent';

const involvedObject = (c: ContainerObject) => ({ apiVersion: 'berth.dev/v1', kind: 'Container', metadata: { ...c.metadata, finalizers: undefined } });

/** Writes what the agent sees to the API server: `/status` merge patches, Events, and the finalizer release. */
export class ApiStatusReporter implements StatusReporter {
  private readonly events: EventRecorder;
  /** Last status written per container, so fields that went away are sent as null and repeats are skipped. */
  private readonly last = new Map<string, ContainerStatusReport & { conditions?: Condition[] }>();

  constructor(private readonly client: ApiClient, nodeName: string) {
    this.events = new EventRecorder(client, 'berth-agent', nodeName);
  }

  async report(c: ContainerObject, status: ContainerStatusReport): Promise<void> {
    const key = `${c.metadata.namespace}/${c.metadata.name}`;
    const prev = this.last.get(key) ?? (c.status as (ContainerStatusReport & { conditions?: Condition[] }) | undefined);
    const conditions = setCondition(prev?.conditions, {
      type: 'Ready',
      status: status.ready ? 'True' : 'False',
      reason: status.ready ? 'ContainerReady' : status.reason ?? 'ContainerNotReady',
      observedGeneration: status.observedGeneration,
    });
    const next = { ...status, conditions };
    if (prev && JSON.stringify(prev) === JSON.stringify(next)) return;
    const patch: Record<string, unknown> = { ...next };
    for (const k of Object.keys(prev ?? {})) if (!(k in next)) patch[k] = null;
    try {
      await this.client.patch(RESOURCES.containers, c.metadata.name, { status: patch }, { namespace: c.metadata.namespace, subresource: 'status' });
      this.last.set(key, next);
    } catch (err) {
      if (!isNotFoundError(err)) throw err;
    }
  }

  event(c: ContainerObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    return this.events.record(involvedObject(c), type, reason, message);
  }

  eventLater(c: ContainerObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.events.recordLater(involvedObject(c), type, reason, message);
  }

  async release(c: ContainerObject): Promise<void> {
    this.last.delete(`${c.metadata.namespace}/${c.metadata.name}`);
    try {
      const current = await this.client.get(RESOURCES.containers, c.metadata.name, c.metadata.namespace);
      const finalizers = (current.metadata.finalizers ?? []).filter((f) => f !== AGENT_FINALIZER);
      await this.client.patch(
        RESOURCES.containers,
        c.metadata.name,
        { metadata: { finalizers, resourceVersion: current.metadata.resourceVersion } },
        { namespace: c.metadata.namespace },
      );
    } catch (err) {
      if (!isNotFoundError(err)) throw err;
    }
  }
}
