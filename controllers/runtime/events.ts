import { createHash } from 'node:crypto';
import { ApiClient, isAlreadyExistsError, KubeObject, RESOURCES } from '../../client';

export type EventType = 'Normal' | 'Warning';

interface EventObject extends KubeObject {
  count?: number;
  lastTimestamp?: string;
}

/** `recordLater` waits until nothing new was deferred for this long... */
const QUIET_MS = 300;
/** ...or until the oldest deferred Event has waited this long. */
const MAX_DELAY_MS = 5000;

/**
 * Records Events about objects, as kubectl describe shows them. The same (object, type, reason, message) is
 * one Event whose `count` and `lastTimestamp` grow, so a crash loop does not flood the store.
 */
export class EventRecorder {
  private deferred: EventObject[] = [];
  private oldestDeferredAt = 0;
  private flushTimer?: NodeJS.Timeout;

  constructor(
    private readonly client: ApiClient,
    private readonly component: string,
    private readonly host?: string,
  ) {}

  record(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    return this.write(this.eventOf(obj, type, reason, message));
  }

  /**
   * For an Event that repeats what the object itself already says (a bind, a Running status): kept back until the
   * recorder has deferred nothing new for QUIET_MS (at most MAX_DELAY_MS), then written one after another, so that
   * a burst of container starts is not also a burst of Event writes every watcher of the API server competes with.
   * Its timestamps are those of the call. Best effort: what is pending when the process ends is not written.
   */
  recordLater(obj: KubeObject, type: EventType, reason: string, message: string): void {
    if (this.deferred.length === 0) this.oldestDeferredAt = Date.now();
    this.deferred.push(this.eventOf(obj, type, reason, message));
    clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(() => void this.flushDeferred(), Math.max(0, Math.min(QUIET_MS, this.oldestDeferredAt + MAX_DELAY_MS - Date.now())));
    this.flushTimer.unref();
  }

  private async flushDeferred(): Promise<void> {
    const events = this.deferred;
    this.deferred = [];
    for (const event of events) await this.write(event).catch(() => undefined);
  }

  private eventOf(obj: KubeObject, type: EventType, reason: string, message: string): EventObject {
    const meta = obj.metadata;
    const namespace = meta.namespace ?? 'default';
    const digest = createHash('sha256').update(`${meta.uid}\0${type}\0${reason}\0${message}`).digest('hex').slice(0, 12);
    const name = `${meta.name}.${digest}`;
    const now = new Date().toISOString();
    return {
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
  }

  private async write(event: EventObject): Promise<void> {
    const { name, namespace } = event.metadata as { name: string; namespace: string };
    try {
      await this.client.create(RESOURCES.events, event);
    } catch (err) {
      if (!isAlreadyExistsError(err)) throw err;
      const existing = await this.client.get<EventObject>(RESOURCES.events, name, namespace);
      await this.client.patch(RESOURCES.events, name, { count: (existing.count ?? 1) + 1, lastTimestamp: event.lastTimestamp }, { namespace });
    }
  }
}
