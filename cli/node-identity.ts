/**
 * A node's own identity for `berth agent --join URL [--token T]`: the first start joins with the token (the CA is
 * pinned by the fingerprint in it, the node gets a certificate signed by the cluster CA); later starts reuse the saved
 * certificate, and a running agent renews it before it expires. Credentials live in `$BERTH_HOME/node/credentials`
 * (mode 0600).
 */
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { ensureNodeCredentials, loadNodeCredentials, type NodeCredentials } from '../api/auth';
import { ApiClient, type ClientConfig } from '../client';

/** How often a running agent checks whether its certificate is due for renewal (due at two thirds of its life). */
const RENEW_CHECK_MS = 60 * 60 * 1000;

export interface NodeIdentityOptions {
  /** The API server, `https://host:port`. */
  readonly server: string;
  readonly home: string;
  readonly nodeName: string;
  /** `BERTH-1-...`: needed only until the node holds a certificate. */
  readonly token?: string;
  readonly renewCheckMs?: number;
  /** The clock renewal decisions use (tests move it forward). */
  readonly now?: () => number;
}

export interface NodeIdentity {
  /** Authenticates with the node's current certificate (new connections pick up a renewed one). */
  readonly client: ApiClient;
  stop(): void;
}

export const credentialsDir = (home: string): string => path.join(home, 'node', 'credentials');

/** Refuses credentials saved for another node name: they would act as that node. */
const checkNodeName = (dir: string, nodeName: string): void => {
  const saved = loadNodeCredentials(dir);
  if (!saved) return;
  const subject = new crypto.X509Certificate(saved.certPem).subject;
  if (!subject.split('\n').includes(`CN=system:node:${nodeName}`)) {
    throw new Error(`the node certificate in ${dir} is not for node "${nodeName}" (${subject.replace(/\n/g, ', ')}); use that node name or remove the directory to join anew`);
  }
};

export async function joinAsNode(opts: NodeIdentityOptions): Promise<NodeIdentity> {
  const dir = credentialsDir(opts.home);
  checkNodeName(dir, opts.nodeName);
  let creds: NodeCredentials = await ensureNodeCredentials({ server: opts.server, dir, nodeName: opts.nodeName, token: opts.token });
  // Getters: the transport reads the certificate whenever it opens a connection, so a renewal needs no new client.
  const config: ClientConfig = {
    server: opts.server,
    namespace: 'default',
    get caPem() {
      return creds.caPem;
    },
    get certPem() {
      return creds.certPem;
    },
    get keyPem() {
      return creds.keyPem;
    },
  };
  const client = new ApiClient(config);
  const renew = async (): Promise<void> => {
    const next = await ensureNodeCredentials({ server: opts.server, dir, nodeName: opts.nodeName, now: opts.now?.() });
    if (next.certPem === creds.certPem) return;
    creds = next;
    // Requests in flight finish on the old connection (its certificate is still valid); new ones use the new one.
    client.close();
    console.log(`berth: node certificate renewed, valid until ${next.expires.toISOString()}`);
  };
  const everyMs = opts.renewCheckMs ?? RENEW_CHECK_MS;
  const timer = setInterval(() => {
    renew().catch((err: Error) => console.error(`berth: renewing the node certificate failed (next try in ${everyMs} ms): ${err.message}`));
  }, everyMs);
  timer.unref();
  return { client, stop: () => clearInterval(timer) };
}
