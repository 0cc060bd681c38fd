/** /etc/hosts and /etc/resolv.conf for containers, pointing them at their Network's names and DNS server. */
import * as fs from 'node:fs';
import { CLUSTER_DOMAIN, type NameRecord } from './dns-records';
import { writeFile } from '../runtime/small-files';

export interface HostsFileInput {
  /** The container's own names and address (first, so `hostname -i` finds it). */
  readonly self?: { readonly hostname: string; readonly address: string };
  readonly records: readonly NameRecord[];
}

/** A hosts file: loopback, the container itself, then every record as `ADDRESS NAME NAME.NS NAME.NS.berth.local`. */
export function renderHostsFile(input: HostsFileInput): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  if (input.self) lines.push(`${input.self.address}\t${input.self.hostname}`);
  for (const record of input.records) {
    const names = [record.name, `${record.name}.${record.namespace}`, `${record.name}.${record.namespace}.${CLUSTER_DOMAIN}`];
    // A hosts file maps one address per line; a Service with several endpoints gets its first (DNS returns all).
    if (record.addresses.length > 0) lines.push(`${record.addresses[0]}\t${names.join(' ')}`);
  }
  return lines.join('\n') + '\n';
}

export interface ResolvConfInput {
  readonly nameservers: readonly string[];
  /** The container's namespace: `NAME` is tried as `NAME.NAMESPACE.berth.local` first. */
  readonly namespace: string;
}

export function renderResolvConf(input: ResolvConfInput): string {
  return [
    ...input.nameservers.map((ns) => `nameserver ${ns}`),
    `search ${input.namespace}.${CLUSTER_DOMAIN} ${CLUSTER_DOMAIN}`,
    'options ndots:1 timeout:1 attempts:2',
    '',
  ].join('\n');
}

/**
 * Rewrites `path` in place (truncate and write) rather than by rename: the runtime bind-mounts these files
 * into the container, and a rename would leave the container looking at the old inode.
 */
export function writeInPlace(path: string, content: string): void {
  try {
    fs.writeFileSync(path, content, { mode: 0o644 });
  } catch (err) {
    throw writeFailed(path, err);
  }
}

/** `writeInPlace` off the event loop (a new container's files, written while its start waits anyway). */
export function writeInPlaceAsync(path: string, content: string): Promise<void> {
  return writeFile(path, content, { mode: 0o644 }).catch((err) => Promise.reject(writeFailed(path, err)));
}

const writeFailed = (path: string, err: unknown) => new Error(`write ${path}: ${(err as Error).message}`, { cause: err });
