import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseBytes, parseCpuMillis } from '../../client/quantity';
import { defaultSpec, LinuxResources, Mount, RuntimeSpec } from '../runtime/spec';
import type { EnvVar } from '../secrets';

/** The fields of a Container's spec that shape its process (names as in the Container CRD). */
export interface ContainerProcessSpec {
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env?: readonly EnvVar[];
  readonly workingDir?: string;
  /** `uid`, `uid:gid`, `name` or `name:group`, resolved in the image's /etc/passwd and /etc/group. */
  readonly user?: string;
  readonly hostname?: string;
  readonly readOnlyRootFilesystem?: boolean;
  readonly resources?: { readonly limits?: { readonly cpu?: string | number; readonly memory?: string | number; readonly pids?: number } };
}

/** The parts of an OCI image config (`config` object) a container inherits. */
export interface ImageProcessConfig {
  readonly Entrypoint?: readonly string[] | null;
  readonly Cmd?: readonly string[] | null;
  readonly Env?: readonly string[] | null;
  readonly WorkingDir?: string;
  readonly User?: string;
}

export interface BundleInputs {
  readonly name: string;
  readonly spec: ContainerProcessSpec;
  readonly image: ImageProcessConfig;
  /** The prepared root filesystem (an overlay mount), absolute. */
  readonly rootfs: string;
  /** Network namespace to join (made by the network driver); none = a private, loopback-only namespace. */
  readonly netnsPath?: string;
  /** Relative to the `berth` cgroup parent. */
  readonly cgroupsPath: string;
  /** Extra mounts (secrets tmpfs, resolv.conf, hosts). */
  readonly mounts?: readonly Mount[];
  /** Environment resolved by the agent from secretKeyRef (never written anywhere but the spec). */
  readonly extraEnv?: readonly string[];
}

/** A pids ceiling even when none is asked for, so a fork bomb cannot take the node (Docker has none by default). */
export const DEFAULT_PIDS_LIMIT = 4096;
const CPU_PERIOD_US = 100_000;

export class BundleError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'BundleError';
  }
}

/**
 * Kubernetes' rules over Docker's: `command` replaces the image ENTRYPOINT (and drops its CMD), `args` replaces CMD.
 */
export function resolveArgs(spec: ContainerProcessSpec, image: ImageProcessConfig): string[] {
  const entrypoint = spec.command ? [...spec.command] : [...(image.Entrypoint ?? [])];
  const args = spec.args ? [...spec.args] : spec.command ? [] : [...(image.Cmd ?? [])];
  const argv = [...entrypoint, ...args];
  if (argv.length === 0) throw new BundleError('spec.command', 'no command given and the image has no ENTRYPOINT or CMD');
  return argv;
}

/** Image env first, then the container's (a later entry with the same name wins). */
export function mergeEnv(...lists: ReadonlyArray<readonly string[]>): string[] {
  const byName = new Map<string, string>();
  for (const list of lists) for (const kv of list) byName.set(kv.split('=', 1)[0], kv);
  return [...byName.values()];
}

/** The colon-separated fields of `name`'s line in an /etc/passwd- or /etc/group-style file of the image. */
function lookupEntry(file: string, name: string, field: string): string[] {
  const line = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').find((l) => l.split(':')[0] === name) : undefined;
  if (!line) throw new BundleError(field, `"${name}" not found in the image's /etc/${path.basename(file)}`);
  return line.split(':');
}

const isNumeric = (s: string): boolean => /^\d+$/.test(s);

/** Resolves `user[:group]` to numeric ids through the image's own /etc/passwd and /etc/group, as Docker does. */
export function resolveUser(user: string | undefined, rootfs: string, field: string): { uid: number; gid: number } {
  if (!user) return { uid: 0, gid: 0 };
  const [u, g] = user.split(':');
  let uid: number;
  let gid: number;
  if (isNumeric(u)) {
    uid = gid = Number(u);
  } else {
    const entry = lookupEntry(path.join(rootfs, 'etc/passwd'), u, field);
    uid = Number(entry[2]);
    gid = Number(entry[3]);
  }
  if (g !== undefined) gid = isNumeric(g) ? Number(g) : Number(lookupEntry(path.join(rootfs, 'etc/group'), g, field)[2]);
  return { uid, gid };
}

export function resourcesFor(spec: ContainerProcessSpec): Omit<LinuxResources, 'devices'> {
  const limits = spec.resources?.limits ?? {};
  const resources: Omit<LinuxResources, 'devices'> = { pids: { limit: limits.pids ?? DEFAULT_PIDS_LIMIT } };
  try {
    if (limits.memory !== undefined) resources.memory = { limit: parseBytes(limits.memory) };
  } catch (err) {
    throw new BundleError('spec.resources.limits.memory', (err as Error).message);
  }
  try {
    if (limits.cpu !== undefined) {
      const millis = parseCpuMillis(limits.cpu);
      resources.cpu = { quota: Math.max(1000, Math.round((millis * CPU_PERIOD_US) / 1000)), period: CPU_PERIOD_US, shares: Math.max(2, Math.round((millis * 1024) / 1000)) };
    }
  } catch (err) {
    throw new BundleError('spec.resources.limits.cpu', (err as Error).message);
  }
  return resources;
}

/** The OCI config.json for a Container: Docker's secure defaults plus what the Container and its image ask. */
export function buildRuntimeSpec(input: BundleInputs): RuntimeSpec {
  const { spec, image } = input;
  const user = resolveUser(spec.user ?? image.User, input.rootfs, spec.user ? 'spec.user' : 'image config User');
  const env = mergeEnv(
    image.Env ?? [],
    (spec.env ?? []).filter((e) => e.value !== undefined).map((e) => `${e.name}=${e.value}`),
    input.extraEnv ?? [],
  );
  return defaultSpec({
    args: resolveArgs(spec, image),
    rootfs: input.rootfs,
    readonlyRootfs: spec.readOnlyRootFilesystem ?? false,
    hostname: (spec.hostname ?? input.name).slice(0, 63),
    env,
    cwd: spec.workingDir || image.WorkingDir || '/',
    uid: user.uid,
    gid: user.gid,
    resources: resourcesFor(spec),
    cgroupsPath: input.cgroupsPath,
    mounts: input.mounts,
    namespacePaths: input.netnsPath ? { network: input.netnsPath } : undefined,
  });
}
