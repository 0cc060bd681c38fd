/** Reads a kubeconfig (the current context, or a named one) into what the client needs to connect. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';

export interface ClientConfig {
  /** `https://127.0.0.1:6443` */
  readonly server: string;
  readonly caPem?: string;
  readonly token?: string;
  readonly certPem?: string;
  readonly keyPem?: string;
  readonly insecureSkipTlsVerify?: boolean;
  /** The context's namespace (default `default`). */
  readonly namespace: string;
}

interface Named<T> {
  name: string;
  [k: string]: unknown;
  cluster?: T;
  user?: T;
  context?: T;
}

/** $KUBECONFIG, else $BERTH_HOME/admin.kubeconfig, else ~/.berth/admin.kubeconfig. */
export const defaultKubeconfigPath = (): string => {
  if (process.env.KUBECONFIG) return process.env.KUBECONFIG.split(path.delimiter)[0];
  const home = process.env.BERTH_HOME ?? path.join(os.homedir(), '.berth');
  return path.join(home, 'admin.kubeconfig');
};

const fileOrData = (base: string, data: unknown, file: unknown): string | undefined => {
  if (typeof data === 'string') return Buffer.from(data, 'base64').toString('utf8');
  if (typeof file === 'string') return fs.readFileSync(path.resolve(base, file), 'utf8');
  return undefined;
};

export const loadKubeconfig = (file = defaultKubeconfigPath(), contextName?: string): ClientConfig => {
  let doc: Record<string, unknown>;
  try {
    doc = parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`cannot read kubeconfig ${file}: ${(err as Error).message}`, { cause: err });
  }
  const base = path.dirname(file);
  const find = <T>(list: unknown, name: string | undefined, what: string): T => {
    const entry = ((list as Named<T>[] | undefined) ?? []).find((e) => e.name === name);
    if (!entry) throw new Error(`kubeconfig ${file}: no ${what} named "${name}"`);
    return ((entry as Record<string, unknown>)[what] ?? {}) as T;
  };
  const current = contextName ?? (doc['current-context'] as string | undefined);
  const context = find<Record<string, string>>(doc.contexts, current, 'context');
  const cluster = find<Record<string, unknown>>(doc.clusters, context.cluster, 'cluster');
  const user = context.user ? find<Record<string, unknown>>(doc.users, context.user, 'user') : {};
  return {
    server: String(cluster.server),
    caPem: fileOrData(base, cluster['certificate-authority-data'], cluster['certificate-authority']),
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
    token: typeof user.token === 'string' ? user.token : fileOrData(base, undefined, user.tokenFile),
    certPem: fileOrData(base, user['client-certificate-data'], user['client-certificate']),
    keyPem: fileOrData(base, user['client-key-data'], user['client-key']),
    namespace: context.namespace ?? 'default',
  };
};
