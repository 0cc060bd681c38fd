import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { writeSecretFile } from './pki';

export type KubeconfigUser = { readonly token: string } | { readonly certPem: string; readonly keyPem: string };

export interface KubeconfigOptions {
  /** `https://127.0.0.1:6443` */
  readonly server: string;
  readonly caPem: string;
  readonly user: KubeconfigUser;
  /** Name used for the context, cluster and user entries; default `berth`. */
  readonly context?: string;
  readonly username?: string;
  readonly namespace?: string;
}

/** The kubeconfig document (apiVersion v1, kind Config) with credentials and CA inlined as `*-data`. */
export function buildKubeconfig(opts: KubeconfigOptions): object {
  const name = opts.context ?? 'berth';
  const userName = opts.username ?? `${name}-user`;
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const user =
    'token' in opts.user
      ? { token: opts.user.token }
      : { 'client-certificate-data': b64(opts.user.certPem), 'client-key-data': b64(opts.user.keyPem) };
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: opts.server, 'certificate-authority-data': b64(opts.caPem) } }],
    users: [{ name: userName, user }],
    contexts: [{ name, context: { cluster: name, user: userName, ...(opts.namespace ? { namespace: opts.namespace } : {}) } }],
    'current-context': name,
    preferences: {},
  };
}

/** Writes a kubeconfig kubectl and @kubernetes/client-node load as is; mode 0600, replaced atomically. */
export function writeKubeconfig(file: string, opts: KubeconfigOptions): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeSecretFile(file, YAML.stringify(buildKubeconfig(opts)));
}
