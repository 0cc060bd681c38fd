/**
 * start(): opens the store under $BERTH_HOME, loads the schemas (built-ins and stored CRDs), makes sure the
 * `default` namespace exists, sets up TLS and authentication, listens, and writes the admin kubeconfig.
 * Safe to run again after a crash: everything it creates on first start is reused.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import {
  AuditLog,
  ClientCertificateAuthenticator,
  ServiceAccountTokens,
  TokenFileAuthenticator,
  UnionAuthenticator,
  auditMiddleware,
  authenticationMiddleware,
  ensureClusterPki,
  tlsServerOptions,
  writeKubeconfig,
} from '../auth';
import { attributesOf } from '../authz';
import { SchemaRegistry, type CustomResourceDefinition } from '../schema';
import { CachedStorage, EtcdStorage, SqliteStorage, type Storage } from '../storage';
import { GarbageCollector } from '../registry/gc';
import { namespaceKey } from '../registry/keys';
import { nowTimestamp } from '../registry/metadata';
import { createApp, type ApiApp } from './app';

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
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly kubeconfigPath: string;
  readonly adminToken: string;
  readonly caPem: string;
  readonly api: ApiApp;
  readonly storage: Storage;
  close(): Promise<void>;
}

export const defaultHome = (): string => process.env.BERTH_HOME ?? path.join(process.env.HOME ?? '/root', '.berth');

const openBackend = (opts: StartOptions): Storage => {
  const compaction = { intervalMs: 60_000, keepRevisions: 10_000 };
  if (opts.store === 'etcd')
    return new EtcdStorage({ endpoints: opts.etcdEndpoints ?? ['http://127.0.0.1:2379'], prefix: opts.etcdPrefix, compaction } as never);
  return new SqliteStorage(path.join(opts.home, 'berth.db'), { compaction } as never);
};

/** Serves CRDs created earlier (or by another API server sharing the store). */
const loadStoredCrds = async (storage: Storage, schemas: SchemaRegistry): Promise<void> => {
  const { items } = await storage.list('/registry/apiextensions.k8s.io/customresourcedefinitions/');
  for (const crd of items) {
    try {
      schemas.addCrd(crd as unknown as CustomResourceDefinition);
    } catch (err) {
      console.error(`berth-apiserver: stored CRD ${String(crd.metadata.name)} cannot be served:`, err);
    }
  }
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
  const storage = new CachedStorage(openBackend(opts));
  const schemas = SchemaRegistry.withBuiltins();
  await loadStoredCrds(storage, schemas);
  await ensureNamespace(storage, 'default');

  const pki = ensureClusterPki(opts.home, { hosts: opts.address === '0.0.0.0' ? [] : [opts.address] });
  const tokens = new TokenFileAuthenticator(path.join(opts.home, 'tokens.json'));
  const adminToken = tokens.ensureAdminToken();
  const authenticator = new UnionAuthenticator([
    new ClientCertificateAuthenticator(pki.ca.certPem),
    tokens,
    ServiceAccountTokens.fromHome(opts.home),
  ]);
  const audit = new AuditLog(path.join(opts.home, 'audit.log'));
  const api = createApp({
    storage,
    schemas,
    guards: [auditMiddleware(audit, attributesOf), authenticationMiddleware(authenticator)],
  });

  const server = https.createServer(tlsServerOptions(pki), api.app);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.address, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.address.includes(':') ? `[${opts.address}]` : opts.address === '0.0.0.0' ? '127.0.0.1' : opts.address;
  const url = `https://${host}:${port}`;
  const kubeconfigPath = path.join(opts.home, 'admin.kubeconfig');
  writeKubeconfig(kubeconfigPath, { server: url, caPem: pki.ca.certPem, user: { token: adminToken } });

  const gc = new GarbageCollector(api.rest, schemas);
  await gc.start();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      gc.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await storage.close();
    })());
  return { url, port, kubeconfigPath, adminToken, caPem: pki.ca.certPem, api, storage, close };
};
