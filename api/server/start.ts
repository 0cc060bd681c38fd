/**
 * start(): opens the store under $BERTH_HOME, loads the schemas (built-ins and stored CRDs), makes sure the
 * `default` namespace exists, sets up TLS and authentication, listens, and writes the admin kubeconfig.
 * Safe to run again after a crash: everything it creates on first start is reused.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import * as path from 'node:path';
import { getUser, writeKubeconfig } from '../auth';
import { attributesOf, createClusterSecurity, type ClusterSecurity } from '../authz';
import { encryptedStorage, type KeyRing } from '../encryption';
import { SchemaRegistry, type CustomResourceDefinition } from '../schema';
import { CachedStorage, openStorage, type Storage, type StoredObject, type Watcher } from '../storage';
import { GarbageCollector } from '../registry/gc';
import { namespaceKey } from '../registry/keys';
import { NamespaceIndex } from '../registry/namespaces';
import { nowTimestamp } from '../registry/metadata';
import { createApp, type Admission, type ApiApp } from './app';
import { forbidden } from './errors';
import { startWorkers, type ApiEndpoint } from './workers';

export interface StartOptions {
  /** All state lives here (store, PKI, tokens, kubeconfig, audit log). */
  readonly home: string;
  /** 0 = any free port. */
  readonly port: number;
  readonly address: string;
  readonly store: 'sqlite' | 'etcd';
  /** For `store: 'etcd'`. */
  readonly etcdEndpoints?: string[];
  /** Key prefix inside etcd (lets tests share one etcd). */
  readonly etcdPrefix?: string;
  /** Validity of the node certificates joining agents get (default 90 days; agents renew at two thirds of it). */
  readonly nodeCertificateDays?: number;
  /**
   * Run the jobs one server per cluster is enough for: garbage collection and storage compaction (default true).
   * Several API servers on one etcd set it on one of them (see workers.ts); the others only serve.
   */
  readonly clusterJobs?: boolean;
}

export interface RunningServer extends ApiEndpoint {
  readonly api: ApiApp;
  readonly storage: Storage;
}

export const defaultHome = (): string => process.env.BERTH_HOME ?? path.join(process.env.HOME ?? '/root', '.berth');

/** The backend, Secrets encrypted at rest right above it, the watch cache on top (so each event is decrypted once). */
const openStore = (opts: StartOptions): { storage: Storage; keys: KeyRing } => {
  const common = { watchCache: false, compaction: opts.clusterJobs === false ? false : undefined } as const;
  const backend =
    opts.store === 'etcd'
      ? openStorage({ ...common, backend: 'etcd', endpoints: opts.etcdEndpoints ?? ['http://127.0.0.1:2379'], prefix: opts.etcdPrefix })
      : openStorage({ ...common, backend: 'sqlite', path: path.join(opts.home, 'berth.db') });
  const encrypted = encryptedStorage(opts.home, backend);
  return { storage: new CachedStorage(encrypted), keys: encrypted.keys };
};

/**
 * Checks on the object being written that need the caller: a node's own-object and finalizer-only rules, RBAC
 * escalation. attributesOf(req) carries the request's real verb (a PATCH is checked as a patch).
 */
const securityAdmission = (security: ClusterSecurity): Admission => async (req, _info, _verb, obj) => {
  const user = getUser(req);
  if (!user) return;
  const refusal = await security.admit(user, attributesOf(req), obj as Record<string, unknown>);
  if (refusal !== undefined) throw forbidden(refusal);
};

const CRD_PREFIX = '/registry/apiextensions.k8s.io/customresourcedefinitions/';

const serveCrd = (schemas: SchemaRegistry, crd: StoredObject): void => {
  try {
    schemas.addCrd(crd as unknown as CustomResourceDefinition);
  } catch (err) {
    console.error(`berth-apiserver: stored CRD ${String(crd.metadata.name)} cannot be served:`, err);
  }
};

/**
 * Serves the CRDs in storage, and keeps following them: API servers sharing one etcd learn of each other's CRDs
 * (this server's own writes also call addCrd at once, so a create is served before its watch event arrives).
 */
const followStoredCrds = async (storage: Storage, schemas: SchemaRegistry): Promise<Watcher> => {
  const { items, revision } = await storage.list(CRD_PREFIX);
  for (const crd of items) serveCrd(schemas, crd);
  return storage.watch(CRD_PREFIX, {
    fromRevision: revision,
    onEvent: (event) => {
      if (event.type === 'DELETED') schemas.removeCrd(String(event.object.metadata.name));
      else serveCrd(schemas, event.object);
    },
  });
};

const ensureNamespace = async (storage: Storage, name: string): Promise<void> => {
  try {
    await storage.get(namespaceKey(name));
  } catch {
    await storage
      .create(namespaceKey(name), {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name, uid: randomUUID(), creationTimestamp: nowTimestamp() },
        spec: { finalizers: ['kubernetes'] },
        status: { phase: 'Active' },
      })
      .catch((err: { code?: string }) => {
        if (err.code !== 'AlreadyExists') throw err;
      });
  }
};

export const start = async (opts: StartOptions): Promise<RunningServer> => {
  fs.mkdirSync(opts.home, { recursive: true, mode: 0o700 });
  const { storage, keys } = openStore(opts);
  const schemas = SchemaRegistry.withBuiltins();
  const crdWatch = await followStoredCrds(storage, schemas);
  await ensureNamespace(storage, 'default');

  const anyAddress = opts.address === '0.0.0.0';
  const security = createClusterSecurity({
    home: opts.home,
    storage,
    hosts: anyAddress ? [] : [opts.address],
    // Remote nodes join a server on 0.0.0.0 by one of this machine's addresses: the serving certificate must name them.
    includeInterfaceAddresses: anyAddress,
    encryptionKeys: keys,
    nodeCertificateDays: opts.nodeCertificateDays,
    // Safe because securityAdmission runs admit() on every write: a node may then change only its finalizer.
    nodeContainerFinalizers: true,
  });
  const namespaces = new NamespaceIndex(storage);
  await namespaces.start();
  const api = createApp({ storage, schemas, namespaces, guards: security.guards, admission: securityAdmission(security) });

  // HTTP/2 (negotiated through ALPN) and HTTP/1.1 on one port; many streams per connection and room for many watches.
  const server = http2.createSecureServer(
    { ...security.tlsOptions, allowHTTP1: true, settings: { maxConcurrentStreams: 100_000, initialWindowSize: 4 * 1024 * 1024 } },
    api.handler,
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.address, () => resolve());
  });
  const sockets = new Set<Socket>();
  let stopping = false;
  server.on('connection', (socket: Socket) => {
    // A client that reconnects while the server stops would otherwise keep server.close() waiting forever.
    if (stopping) return void socket.destroy();
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.address.includes(':') ? `[${opts.address}]` : opts.address === '0.0.0.0' ? '127.0.0.1' : opts.address;
  const url = `https://${host}:${port}`;
  const kubeconfigPath = path.join(opts.home, 'admin.kubeconfig');
  writeKubeconfig(kubeconfigPath, { server: url, caPem: security.pki.ca.certPem, user: { token: security.adminToken } });

  const gc = opts.clusterJobs === false ? undefined : new GarbageCollector(api.rest, schemas);
  await gc?.start();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      gc?.stop();
      crdWatch.stop();
      namespaces.stop();
      stopping = true;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await storage.close();
      security.close();
    })());
  return { url, port, kubeconfigPath, adminToken: security.adminToken, caPem: security.pki.ca.certPem, api, storage, close };
};

/**
 * The API server in this process (`workers` 1, the default), or `workers` processes sharing its port on the etcd
 * store, supervised from this one (workers.ts). SQLite refuses more than one.
 */
export const serve = (opts: StartOptions & { readonly workers?: number }): Promise<ApiEndpoint> =>
  (opts.workers ?? 1) === 1 ? start(opts) : startWorkers({ ...opts, workers: opts.workers ?? 1 });
