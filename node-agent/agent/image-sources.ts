/**
 * How an Image object's spec becomes an image in the node's store: a registry pull (`spec.ref` with its pull
 * policy), a Dockerfile build (`spec.build`, tagged `spec.ref`) or an archive import (`spec.import`, tagged
 * `spec.ref`). Failures carry the reason the Image's conditions show.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Builder,
  BuildStepError,
  defaultPullPolicy,
  DockerfileSyntaxError,
  ensureImage,
  ImageNotFoundError,
  ImageStore,
  InvalidReferenceError,
  loadImages,
  parseReference,
} from '../images';
import type { Platform, PullOptions, PullPolicy } from '../images';
import type { ContainerRuntime } from '../runtime/types';
import type { ImageActivity } from './image-status';

/** `Image.spec` (manifests/crds/images.yaml is the full definition). */
export interface ImageSpec {
  readonly ref: string;
  readonly pullPolicy?: PullPolicy;
  readonly insecure?: boolean;
  readonly platform?: string;
  readonly build?: {
    readonly context: string;
    readonly dockerfile?: string;
    readonly target?: string;
    readonly buildArgs?: Readonly<Record<string, string>>;
    readonly noCache?: boolean;
  };
  readonly import?: { readonly path: string; readonly format?: string };
}

export const REASON_PULL_FAILED = 'ErrImagePull';
export const REASON_NEVER_PULL = 'ErrImageNeverPull';
export const REASON_INVALID_NAME = 'InvalidImageName';
export const REASON_BUILD_FAILED = 'BuildFailed';
export const REASON_IMPORT_FAILED = 'ImportFailed';

export class ImageSourceError extends Error {
  constructor(readonly reason: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageSourceError';
  }
}

export interface ImageSourceDeps {
  readonly store: ImageStore;
  /** Runs the RUN steps of builds. */
  readonly runtime: ContainerRuntime;
  /** Credentials, CA... for every registry this node pulls from. */
  readonly pullOptions?: PullOptions;
}

export interface AcquireHooks {
  /** Transfer progress of a pull (already summarized and throttled by the caller's PullProgress). */
  readonly onPullProgress?: PullOptions['onProgress'];
  /** Each line the build prints ("Step 2/5 : RUN make", RUN output). */
  readonly onBuildLog?: (line: string) => void;
}

export function activityOf(spec: ImageSpec): ImageActivity {
  return spec.build ? 'Building' : spec.import ? 'Importing' : 'Pulling';
}

/** The pull policy in effect: the spec's, else Kubernetes' default for the reference (Always for `:latest`). */
export function pullPolicyOf(spec: ImageSpec): PullPolicy {
  return spec.pullPolicy ?? defaultPullPolicy(spec.ref);
}

/** The reference is one Docker would accept, and names a tag when the image is built or imported (else InvalidImageName, which no retry fixes). */
export function checkReference(spec: ImageSpec): void {
  let digest: string | undefined;
  try {
    digest = parseReference(spec.ref).digest;
  } catch (err) {
    if (err instanceof InvalidReferenceError) throw new ImageSourceError(REASON_INVALID_NAME, `spec.ref: ${err.message}`, { cause: err });
    throw err;
  }
  if (digest !== undefined && (spec.build || spec.import)) {
    throw new ImageSourceError(REASON_INVALID_NAME, `spec.ref "${spec.ref}" pins a digest; a built or imported image is tagged with spec.ref, so it must name a tag`);
  }
}

/** Makes the image present in the store as the spec says; returns its manifest digest. */
export async function acquireImage(deps: ImageSourceDeps, spec: ImageSpec, hooks: AcquireHooks = {}): Promise<string> {
  checkReference(spec);
  if (spec.build) return build(deps, spec, spec.build, hooks);
  if (spec.import) return importArchive(deps.store, spec, spec.import.path);
  const policy = pullPolicyOf(spec);
  try {
    return await ensureImage(deps.store, spec.ref, policy, { ...pullOptionsOf(deps, spec), onProgress: hooks.onPullProgress });
  } catch (err) {
    if (err instanceof ImageNotFoundError && policy === 'Never') {
      throw new ImageSourceError(REASON_NEVER_PULL, `${spec.ref} is not present on the node and pullPolicy is Never`, { cause: err });
    }
    throw new ImageSourceError(REASON_PULL_FAILED, `pulling ${spec.ref}: ${(err as Error).message}`, { cause: err });
  }
}

function pullOptionsOf(deps: ImageSourceDeps, spec: ImageSpec): PullOptions {
  return {
    ...deps.pullOptions,
    ...(spec.insecure ? { scheme: 'http' as const } : {}),
    ...(spec.platform ? { platform: parsePlatform(spec.platform) } : {}),
  };
}

function parsePlatform(text: string): Platform {
  const [os, architecture, variant] = text.split('/');
  if (!os || !architecture) throw new ImageSourceError(REASON_PULL_FAILED, `spec.platform "${text}" is not os/architecture[/variant]`);
  return { os, architecture, ...(variant ? { variant } : {}) };
}

async function build(deps: ImageSourceDeps, spec: ImageSpec, b: NonNullable<ImageSpec['build']>, hooks: AcquireHooks): Promise<string> {
  if (!path.isAbsolute(b.context)) throw new ImageSourceError(REASON_BUILD_FAILED, `spec.build.context "${b.context}" must be an absolute path on the node`);
  try {
    const result = await new Builder({ store: deps.store, runtime: deps.runtime }).build({
      contextDir: b.context,
      dockerfile: b.dockerfile,
      tags: [spec.ref],
      buildArgs: b.buildArgs,
      target: b.target,
      noCache: b.noCache,
      onLog: hooks.onBuildLog,
      pull: pullOptionsOf(deps, spec),
    });
    return result.digest;
  } catch (err) {
    // Both carry "Dockerfile line N: ..." already; anything else (a missing context, a FROM that cannot be pulled) gets the context.
    const located = err instanceof DockerfileSyntaxError || err instanceof BuildStepError;
    throw new ImageSourceError(REASON_BUILD_FAILED, located ? (err as Error).message : `building ${b.context}: ${(err as Error).message}`, { cause: err });
  }
}

/** Loads the archive and tags its image as `spec.ref`: the image tagged so in the archive, else its only image. */
async function importArchive(store: ImageStore, spec: ImageSpec, source: string): Promise<string> {
  const fail = (message: string, cause?: unknown) => new ImageSourceError(REASON_IMPORT_FAILED, `importing ${source}: ${message}`, { cause });
  if (!path.isAbsolute(source)) throw fail('spec.import.path must be an absolute path on the node');
  if (!fs.existsSync(source)) throw fail('no such file or directory on the node');
  let images;
  try {
    images = await loadImages(store, source);
  } catch (err) {
    throw fail((err as Error).message, err);
  }
  const wanted = normalized(spec.ref);
  const chosen = images.find((i) => i.tags.some((t) => normalized(t) === wanted)) ?? (images.length === 1 ? images[0] : undefined);
  if (!chosen) throw fail(`the archive holds ${images.length} images and none is tagged ${spec.ref}`);
  store.tag(spec.ref, chosen.digest);
  return chosen.digest;
}

const normalized = (ref: string): string => {
  const p = parseReference(ref);
  return `${p.registry}/${p.repository}:${p.tag ?? ''}@${p.digest ?? ''}`;
};
