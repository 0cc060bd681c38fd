/**
 * A small typed client for the Berth API server (and any Kubernetes-style server): TLS with the kubeconfig's CA,
 * bearer-token or client-certificate authentication, CRUD, patch, server-side apply, and watch.
 */
import { Readable, type Writable } from 'node:stream';
import { ApiStatusError, WatchExpiredError, type Status } from './errors';
import type { ClientConfig } from './kubeconfig';
import { transportFor, type OpenResponse, type Transport } from './transport';
import { apiVersionOf, type KubeList, type KubeObject, type ResourceRef } from './types';

export interface RequestOptions {
  readonly body?: unknown;
  readonly contentType?: string;
  readonly accept?: string;
  readonly query?: Record<string, string | number | boolean | undefined>;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: unknown;
}

export interface ListOptions {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly limit?: number;
  readonly continue?: string;
}

export interface WriteOptions {
  readonly dryRun?: boolean;
  readonly fieldManager?: string;
  readonly fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
}

export interface DeleteOptions {
  readonly propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  readonly dryRun?: boolean;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchOptions extends Omit<ListOptions, 'limit' | 'continue'> {
  readonly name?: string;
  readonly resourceVersion?: string;
  readonly allowWatchBookmarks?: boolean;
  readonly timeoutSeconds?: number;
}

export interface WatchHandle {
  stop(): void;
}

export type PatchType = 'merge' | 'json' | 'strategic';
const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
};

/** Segments of URL-safe characters, none starting with a dot. */
const PLAIN_PATH = /^(\/[A-Za-z0-9_~-][A-Za-z0-9_.~-]*)*\/?$/;

export class ApiClient {
  private readonly transport: Transport;
  private readonly base: URL;

  constructor(readonly config: ClientConfig) {
    this.base = new URL(config.server);
    this.transport = transportFor(config);
  }

  get defaultNamespace(): string {
    return this.config.namespace;
  }

  /** `/apis/g/v[/namespaces/ns]/plural[/name[/sub]]` (or `/api/v1/...` for the core group). */
  path(ref: ResourceRef, namespace?: string, name?: string, subresource?: string): string {
    const root = ref.group ? `/apis/${ref.group}/${ref.version}` : `/api/${ref.version}`;
    const ns = ref.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
    return `${root}${ns}/${ref.plural}${name ? `/${encodeURIComponent(name)}` : ''}${subresource ? `/${subresource}` : ''}`;
  }

  /**
   * The request target: `path` and the query's set values. A path of plain segments (what `path()` builds) is used
   * as it is; anything else is normalised as a URL would be (percent-encoding, dot segments).
   */
  private target(path: string, query?: RequestOptions['query']): string {
    let target = PLAIN_PATH.test(path) ? path : ((url) => url.pathname + url.search)(new URL(path, this.base));
    for (const k in query) {
      const v = query[k];
      if (v !== undefined && v !== '') target += `${target.includes('?') ? '&' : '?'}${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`;
    }
    return target;
  }

  private async open(method: string, path: string, opts: RequestOptions): Promise<OpenResponse> {
    const target = this.target(path, opts.query);
    // A Readable body is streamed as it is produced (exec's stdin); anything else is sent whole.
    const payload =
      opts.body === undefined
        ? undefined
        : Buffer.isBuffer(opts.body) || opts.body instanceof Readable
          ? opts.body
          : typeof opts.body === 'string'
            ? Buffer.from(opts.body)
            : Buffer.from(JSON.stringify(opts.body));
    const headers: Record<string, string | number> = { accept: opts.accept ?? 'application/json', 'user-agent': 'berth-client/0.1' };
    if (this.config.token) headers.authorization = `Bearer ${this.config.token}`;
    if (payload) {
      headers['content-type'] = opts.contentType ?? 'application/json';
      if (Buffer.isBuffer(payload)) headers['content-length'] = payload.length;
    }
    try {
      return await this.transport.open(method, target, headers, payload);
    } catch (err) {
      throw new Error(`${method} ${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The whole body as text (events rather than an async iterator: this is on every request's path). */
  private static readAll(body: Readable): Promise<string> {
    return new Promise((resolve, reject) => {
      if (body.destroyed) return reject(new Error('the response ended before its body was read'));
      const chunks: Buffer[] = [];
      let ended = false;
      body.on('data', (chunk: Buffer | string) => chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
      body.once('end', () => {
        ended = true;
        resolve(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8'));
      });
      body.once('error', reject);
      body.once('close', () => ended || reject(new Error('the response ended before its body did')));
    });
  }

  /** The `Status` of an error answer, or its text as the message when the body is not JSON. */
  private static async readStatus(body: Readable): Promise<Status> {
    const text = await ApiClient.readAll(body);
    try {
      return JSON.parse(text) as Status;
    } catch {
      return { message: text };
    }
  }

  /** Any request; resolves for every HTTP status (see `call` for throwing on errors). */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<RawResponse> {
    const res = await this.open(method, path, opts);
    const text = await ApiClient.readAll(res.body);
    let body: unknown = text;
    if (String(res.headers['content-type'] ?? '').includes('json') && text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    return { status: res.status, headers: res.headers, body };
  }

  /** A request whose (possibly endless) body is copied to `out` as it arrives: logs, follow streams. */
  async stream(method: string, path: string, opts: RequestOptions, out: Writable): Promise<void> {
    const res = await this.open(method, path, opts);
    if (res.status >= 400) {
      const status = await ApiClient.readStatus(res.body);
      throw new ApiStatusError(res.status, status, method, path);
    }
    await new Promise<void>((resolve, reject) => {
      res.body.pipe(out, { end: false });
      res.body.once('end', resolve);
      res.body.once('error', reject);
    });
  }

  /** A request that must succeed: throws ApiStatusError with the server's Status otherwise. */
  async call<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    if (res.status >= 400) {
      const status = (typeof res.body === 'object' && res.body ? res.body : { message: String(res.body) }) as Status;
      throw new ApiStatusError(res.status, status, method, path);
    }
    return res.body as T;
  }

  private nsOf(ref: ResourceRef, namespace?: string): string | undefined {
    return ref.namespaced ? namespace ?? this.config.namespace : undefined;
  }

  get<T extends KubeObject = KubeObject>(ref: ResourceRef, name: string, namespace?: string): Promise<T> {
    return this.call('GET', this.path(ref, this.nsOf(ref, namespace), name));
  }

  /** Lists one namespace (default: the context's), or all namespaces with `namespace: ''`. */
  list<T extends KubeObject = KubeObject>(ref: ResourceRef, opts: ListOptions = {}): Promise<KubeList<T>> {
    const ns = opts.namespace === '' ? undefined : this.nsOf(ref, opts.namespace);
    return this.call('GET', this.path(ref, ns), {
      query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit: opts.limit, continue: opts.continue },
    });
  }

  private writeQuery(opts: WriteOptions): RequestOptions['query'] {
    return { dryRun: opts.dryRun ? 'All' : undefined, fieldManager: opts.fieldManager, fieldValidation: opts.fieldValidation };
  }

  private withTypeMeta(ref: ResourceRef, obj: KubeObject): KubeObject {
    return { apiVersion: apiVersionOf(ref), kind: ref.kind, ...obj };
  }

  create<T extends KubeObject = KubeObject>(ref: ResourceRef, obj: KubeObject, opts: WriteOptions = {}): Promise<T> {
    return this.call('POST', this.path(ref, this.nsOf(ref, obj.metadata.namespace)), { body: this.withTypeMeta(ref, obj), query: this.writeQuery(opts) });
  }

  /** PUT (needs metadata.resourceVersion: 409 if stale). */
  update<T extends KubeObject = KubeObject>(ref: ResourceRef, obj: KubeObject, opts: WriteOptions = {}): Promise<T> {
    const path = this.path(ref, this.nsOf(ref, obj.metadata.namespace), obj.metadata.name);
    return this.call('PUT', path, { body: this.withTypeMeta(ref, obj), query: this.writeQuery(opts) });
  }

  /** PUT to /status: only `.status` is taken. */
  updateStatus<T extends KubeObject = KubeObject>(ref: ResourceRef, obj: KubeObject, opts: WriteOptions = {}): Promise<T> {
    const path = this.path(ref, this.nsOf(ref, obj.metadata.namespace), obj.metadata.name, 'status');
    return this.call('PUT', path, { body: this.withTypeMeta(ref, obj), query: this.writeQuery(opts) });
  }

  patch<T extends KubeObject = KubeObject>(
    ref: ResourceRef,
    name: string,
    patch: unknown,
    opts: WriteOptions & { namespace?: string; type?: PatchType; subresource?: string } = {},
  ): Promise<T> {
    const path = this.path(ref, this.nsOf(ref, opts.namespace), name, opts.subresource);
    return this.call('PATCH', path, { body: patch, contentType: PATCH_CONTENT_TYPES[opts.type ?? 'merge'], query: this.writeQuery(opts) });
  }

  /** Server-side apply: creates or merges `obj`, owned by `fieldManager` (409 on conflicts unless `force`). */
  apply<T extends KubeObject = KubeObject>(ref: ResourceRef, obj: KubeObject, opts: WriteOptions & { fieldManager: string; force?: boolean; subresource?: string }): Promise<T> {
    const path = this.path(ref, this.nsOf(ref, obj.metadata.namespace), obj.metadata.name, opts.subresource);
    return this.call('PATCH', path, {
      body: this.withTypeMeta(ref, obj),
      contentType: 'application/apply-patch+yaml',
      query: { ...this.writeQuery(opts), force: opts.force ? 'true' : undefined },
    });
  }

  delete<T extends KubeObject = KubeObject>(ref: ResourceRef, name: string, opts: DeleteOptions & { namespace?: string } = {}): Promise<T> {
    const body = { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: opts.propagationPolicy };
    return this.call('DELETE', this.path(ref, this.nsOf(ref, opts.namespace), name), {
      body,
      query: { dryRun: opts.dryRun ? 'All' : undefined },
    });
  }

  /**
   * One watch stream. Events arrive in order; `onClose` runs once when the stream ends other than by stop():
   * with WatchExpiredError on 410 (list again), another error on failure, or nothing on a clean end.
   */
  async watch<T extends KubeObject = KubeObject>(
    ref: ResourceRef,
    opts: WatchOptions,
    onEvent: (type: WatchEventType, obj: T) => void,
    onClose: (err?: Error) => void = () => undefined,
  ): Promise<WatchHandle> {
    const ns = opts.namespace === '' ? undefined : this.nsOf(ref, opts.namespace);
    const fieldSelector = opts.name ? [`metadata.name=${opts.name}`, opts.fieldSelector].filter(Boolean).join(',') : opts.fieldSelector;
    const path = this.path(ref, ns);
    const res = await this.open('GET', path, {
      query: {
        watch: 'true',
        resourceVersion: opts.resourceVersion,
        labelSelector: opts.labelSelector,
        fieldSelector,
        allowWatchBookmarks: opts.allowWatchBookmarks ? 'true' : undefined,
        timeoutSeconds: opts.timeoutSeconds,
      },
    });
    if (res.status >= 400) {
      const status = await ApiClient.readStatus(res.body);
      if (res.status === 410) throw new WatchExpiredError(status.message ?? 'resource version too old');
      throw new ApiStatusError(res.status, status, 'GET', path);
    }
    let stopped = false;
    let closed = false;
    const finish = (err?: Error): void => {
      if (closed) return;
      closed = true;
      if (!stopped) onClose(err);
    };
    let buffer = '';
    const body = res.body;
    body.setEncoding('utf8');
    body.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (!line || stopped) continue;
        let event: { type: string; object: unknown };
        try {
          event = JSON.parse(line) as { type: string; object: unknown };
        } catch (err) {
          finish(new Error(`watch ${path}: undecodable event: ${(err as Error).message}`));
          res.destroy();
          return;
        }
        if (event.type === 'ERROR') {
          const status = event.object as Status;
          finish(status.code === 410 ? new WatchExpiredError(status.message ?? 'expired') : new ApiStatusError(status.code ?? 500, status, 'GET', path));
          res.destroy();
          return;
        }
        onEvent(event.type as WatchEventType, event.object as T);
      }
    });
    body.on('end', () => finish());
    body.on('error', (err) => finish(err));
    body.on('close', () => finish());
    return {
      stop: () => {
        stopped = true;
        res.destroy();
      },
    };
  }

  /** Closes idle keep-alive connections (lets a process exit). */
  close(): void {
    this.transport.close();
  }
}
