import { defaultPullPolicy, ensureImage, ImageNotFoundError, ImageStore, importBusybox, InvalidReferenceError } from '../images';
import type { PullOptions, PullPolicy } from '../images';
import { PullProgress } from './image-progress';
import type { ImageProvider, ResolvedImage } from './types';

/** Why an image could not be made present, with kubelet's reason (the Container's status and Warning Event show it). */
export class ImagePullError extends Error {
  constructor(readonly reason: 'ErrImagePull' | 'ErrImageNeverPull' | 'InvalidImageName', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImagePullError';
  }
}

/** What the node's Image controller knows of an Image object a Container names. */
export interface ImageObjectView {
  /** The digest the Image resolved to, if it is Ready. */
  readonly digest?: string;
  /** Why it is not (yet) Ready. */
  readonly message?: string;
}

export interface StoreImageProviderOptions {
  /** Credentials, CA... for every registry this node pulls from. */
  readonly pullOptions?: PullOptions;
  /** Finds the Image object `name` of `namespace` (the Image controller's cache); without it image names are only references. */
  readonly imageObjects?: (namespace: string, name: string) => ImageObjectView | undefined;
}

/** `busybox` and `busybox:latest` name the base image seeded from the host's busybox-static, never docker.io. */
const isSeededBusybox = (ref: string): boolean => /^busybox(:latest)?$/.test(ref);

/**
 * The node's image store behind the agent, with Kubernetes' pull policies (`ensureImage`: Always by default for
 * `:latest`, IfNotPresent otherwise). Pull progress becomes throttled Events. `busybox` is seeded from the host's
 * static busybox, since a node may have no route to a public registry.
 */
export class StoreImageProvider implements ImageProvider {
  /** The busybox seeding in progress: containers asking at once share one import (it packs ~400 applets). */
  private seeding?: Promise<string>;

  constructor(
    readonly store: ImageStore,
    private readonly opts: StoreImageProviderOptions = {},
  ) {}

  async ensure(ref: string, policy: PullPolicy | undefined, onProgress: (message: string) => void, namespace: string): Promise<ResolvedImage> {
    const named = this.opts.imageObjects?.(namespace, ref);
    const digest = named
      ? this.digestOf(ref, named)
      : isSeededBusybox(ref)
        ? this.tryResolve(ref) ?? (await this.seedBusybox())
        : await this.pull(ref, policy, onProgress);
    return { digest, config: this.store.getConfig(digest).config ?? {} };
  }

  prepareRootfs(digest: string, containerId: string): Promise<string> {
    return this.store.prepareRootfs(digest, containerId);
  }

  releaseRootfs(containerId: string): Promise<void> {
    return this.store.releaseRootfs(containerId);
  }

  private seedBusybox(): Promise<string> {
    this.seeding ??= importBusybox(this.store).finally(() => (this.seeding = undefined));
    return this.seeding;
  }

  /** A Container naming an Image object runs its digest once the Image controller has made it present here. */
  private digestOf(name: string, image: ImageObjectView): string {
    const present = image.digest === undefined ? undefined : this.tryResolve(image.digest);
    if (present === undefined) {
      throw new ImagePullError('ErrImagePull', `Image ${name} is not ready on this node${image.message ? `: ${image.message}` : ''}`);
    }
    return present;
  }

  private async pull(ref: string, policy: PullPolicy | undefined, onProgress: (message: string) => void): Promise<string> {
    let effective: PullPolicy;
    try {
      effective = policy ?? defaultPullPolicy(ref);
    } catch (err) {
      if (err instanceof InvalidReferenceError) throw new ImagePullError('InvalidImageName', `invalid reference: ${err.message}`, { cause: err });
      throw err;
    }
    const before = this.tryResolve(ref);
    const started = Date.now();
    try {
      const progress = new PullProgress(ref, onProgress);
      const digest = await ensureImage(this.store, ref, effective, { ...this.opts.pullOptions, onProgress: progress.onProgress });
      if (effective === 'Always' || before === undefined) {
        onProgress(`${digest === before ? 'image is up to date' : 'successfully pulled image'} ${ref} (${digest}) in ${((Date.now() - started) / 1000).toFixed(1)}s`);
      }
      return digest;
    } catch (err) {
      if (err instanceof ImageNotFoundError && effective === 'Never') {
        throw new ImagePullError('ErrImageNeverPull', 'the image is not present on the node and imagePullPolicy is Never', { cause: err });
      }
      throw new ImagePullError('ErrImagePull', (err as Error).message.trim(), { cause: err });
    }
  }

  private tryResolve(ref: string): string | undefined {
    try {
      return this.store.resolve(ref);
    } catch {
      return undefined;
    }
  }
}
