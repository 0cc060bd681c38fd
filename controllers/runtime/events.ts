import { createHash } from 'node:crypto';
import { ApiClient, isAlreadyExistsError, KubeObject, RESOURCES } from '../../client';

export type EventType = 'Normal' | 'Warning';

interface EventObject extends KubeObject {
  count?: number;
}

/**
 * Records Events about objects, as kubectl describe shows them. The same (object, type, reason, message) is
 * one Event whose `count` and `lastTimestamp` grow, so a crash loop does not flood the store.
 */
export class EventRecorder {
  constructor(
    private readonly client: ApiClient,
    private readonly component: string,
    private readonly host?: string,
  ) {}

  async record(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const meta = obj.metadata;
    const namespace = meta.namespace ?? 'default';
    const digest = createHash('sha256').update(`${meta.uid}\0${type}\0${reason}\0${message}`).digest('hex').slice(0, 12);
    const name = `${meta.name}.${digest}`;
    const now = new Date().toISOString();
    const event: EventObject = {
      metadata: { name, namespace },
      involvedObject: { apiVersion: obj.apiVersion, kind: obj.kind, name: meta.name, namespace: meta.namespace, uid: meta.uid, resourceVersion: meta.resourceVersion },
      type,
      reason,
      message,
      source: { component: this.component, ...(this.host ? { host: this.host } : {}) },
      reportingComponent: this.component,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    try {
      await this.client.create(RESOURCES.events, event);
    } catch (err) {
      if (!isAlreadyExistsError(err)) throw err;
      const existing = await this.client.get<EventObject>(RESOURCES.events, name, namespace);
      await this.client.patch(RESOURCES.events, name, { count: (existing.count ?? 1) + 1, lastTimestamp: now }, { namespace });
    }
  }
}
