import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { isMountPoint } from '../images/overlay';
import type { Mount } from '../runtime/spec';
import type { SecretData, SecretSource } from './source';

const run = promisify(execFile);

/** `Container.spec.secrets[]` and `env[].valueFrom.secretKeyRef`, as the agent reads them. */
export interface SecretRefs {
  readonly secrets?: ReadonlyArray<{
    readonly name: string;
    readonly items?: ReadonlyArray<{ readonly key: string; readonly path: string; readonly mode?: number }>;
    readonly target?: string;
    readonly mode?: number;
  }>;
  readonly env?: readonly EnvVar[];
}

/** A Container env entry: a literal value, or a key of a Secret. */
export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly secretKeyRef?: { readonly name: string; readonly key: string; readonly optional?: boolean } };
}

export class SecretNotReadyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretNotReadyError';
  }
}

export interface PreparedSecrets {
  /** Read-only bind mounts of the tmpfs directories into the container. */
  readonly mounts: Mount[];
  /** `NAME=value` for env entries taken from Secrets. */
  readonly env: string[];
}

interface Projection {
  readonly namespace: string;
  readonly refs: SecretRefs;
  readonly uid: number;
  readonly gid: number;
}

const DEFAULT_MODE = 0o400;

/**
 * Delivers Secrets to containers as files on a per-container tmpfs (never the node's disk), owned by the
 * container's user, mode 0400 by default, bind-mounted read-only at `/run/secrets/<name>`. `refresh` rewrites
 * files whose Secret changed (atomically: write + rename), so running containers see updates; `release` unmounts.
 * Errors name Secrets and keys, never values.
 */
export class SecretVolumes {
  private readonly projections = new Map<string, Projection>();

  constructor(private readonly root: string, private readonly source: SecretSource) {}

  private dirOf(containerId: string): string {
    return path.join(this.root, containerId);
  }

  async prepare(containerId: string, namespace: string, refs: SecretRefs, user: { uid: number; gid: number }): Promise<PreparedSecrets> {
    const env: string[] = [];
    for (const e of refs.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (!ref) continue;
      const value = (await this.source.get(namespace, ref.name))?.get(ref.key);
      if (value === undefined && !ref.optional) throw new SecretNotReadyError(`env ${e.name}: key "${ref.key}" of secret ${namespace}/${ref.name} not found`);
      if (value !== undefined) env.push(`${e.name}=${value.toString('utf8')}`);
    }
    if (!refs.secrets?.length) return { mounts: [], env };
    const dir = this.dirOf(containerId);
    await this.mountTmpfs(dir);
    const projection = { namespace, refs, uid: user.uid, gid: user.gid };
    await this.write(containerId, projection, true);
    this.projections.set(containerId, projection);
    const mounts: Mount[] = refs.secrets.map((s, i) => ({
      destination: s.target ?? `/run/secrets/${s.name}`,
      type: 'bind',
      source: path.join(dir, String(i)),
      options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'],
    }));
    return { mounts, env };
  }

  /** Rewrites every projected Secret that changed; a Secret that went away keeps its last files. */
  async refresh(): Promise<void> {
    for (const [id, p] of this.projections) await this.write(id, p, false).catch(() => undefined);
  }

  async release(containerId: string): Promise<void> {
    this.projections.delete(containerId);
    const dir = this.dirOf(containerId);
    if (!fs.existsSync(dir)) return;
    if (isMountPoint(dir)) await run('umount', [dir]).catch(() => run('umount', ['-l', dir]));
    fs.rmSync(dir, { recursive: true, force: true });
  }

  /** Container ids with projected secrets (to find leftovers). */
  held(): string[] {
    return fs.existsSync(this.root) ? fs.readdirSync(this.root) : [];
  }

  private async mountTmpfs(dir: string): Promise<void> {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (isMountPoint(dir)) return;
    try {
      await run('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0711,nosuid,nodev,noexec', 'berth-secrets', dir]);
    } catch (err) {
      throw new Error(`mount the secrets tmpfs at ${dir}: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`, { cause: err });
    }
  }

  private async write(containerId: string, p: Projection, strict: boolean): Promise<void> {
    const dir = this.dirOf(containerId);
    for (const [i, s] of (p.refs.secrets ?? []).entries()) {
      const data = await this.source.get(p.namespace, s.name);
      if (!data) {
        if (strict) throw new SecretNotReadyError(`secret ${p.namespace}/${s.name} not found`);
        continue;
      }
      const sub = path.join(dir, String(i));
      fs.mkdirSync(sub, { recursive: true, mode: 0o500 });
      fs.chownSync(sub, p.uid, p.gid);
      const items = s.items ?? [...data.keys()].map((key) => ({ key, path: key, mode: undefined }));
      for (const item of items) {
        const value = data.get(item.key);
        if (value === undefined) {
          if (strict) throw new SecretNotReadyError(`key "${item.key}" of secret ${p.namespace}/${s.name} not found`);
          continue;
        }
        if (item.path.split('/').includes('..') || path.isAbsolute(item.path)) throw new SecretNotReadyError(`secret ${s.name}: item path "${item.path}" must be relative without ".."`);
        const file = path.join(sub, item.path);
        if (fs.existsSync(file) && fs.readFileSync(file).equals(value)) continue;
        fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o500 });
        const tmp = `${file}.berth-tmp`;
        fs.writeFileSync(tmp, value, { mode: 0o600 });
        fs.chownSync(tmp, p.uid, p.gid);
        fs.chmodSync(tmp, item.mode ?? s.mode ?? DEFAULT_MODE);
        fs.renameSync(tmp, file);
      }
    }
  }
}
