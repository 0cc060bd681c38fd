import { ImageStore } from '../images/store';
import { importBusybox } from '../images/busybox';
import { pullImage } from '../images/registry/pull';
import type { ImageProvider, ResolvedImage } from './types';

/**
 * The node's image store behind the agent: IfNotPresent uses what is stored, Always and a missing image pull
 * from the registry (progress becomes Events). `busybox` is seeded from the host's static busybox, since a node
 * may have no route to a public registry.
 */
export class StoreImageProvider implements ImageProvider {
  constructor(private readonly store: ImageStore) {}

  async ensure(ref: string, policy: 'Always' | 'IfNotPresent' | 'Never', onProgress: (message: string) => void): Promise<ResolvedImage> {
    let digest = policy === 'Always' ? undefined : this.tryResolve(ref);
    if (!digest && /^busybox(:latest)?$/.test(ref)) digest = await importBusybox(this.store);
    if (!digest) {
      if (policy === 'Never') throw new Error(`image ${ref} is not present and imagePullPolicy is Never`);
      let lastReport = 0;
      const result = await pullImage(this.store, ref, {
        onProgress: (p) => {
          if (p.current < p.total && Date.now() - lastReport < 1000) return;
          lastReport = Date.now();
          onProgress(`pulling ${ref}: ${p.kind} ${p.digest.slice(7, 19)} ${p.current}/${p.total} bytes`);
        },
      });
      digest = result.digest;
      onProgress(`pulled ${ref} as ${digest}`);
    }
    const config = this.store.getConfig(digest).config ?? {};
    return { digest, config };
  }

  prepareRootfs(digest: string, containerId: string): Promise<string> {
    return this.store.prepareRootfs(digest, containerId);
  }

  releaseRootfs(containerId: string): Promise<void> {
    return this.store.releaseRootfs(containerId);
  }

  private tryResolve(ref: string): string | undefined {
    try {
      return this.store.resolve(ref);
    } catch {
      return undefined;
    }
  }
}
