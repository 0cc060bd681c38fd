/**
 * The build cache: each step's key hashes its parent's key, the instruction as executed (after
 * variable expansion, with the environment a RUN sees) and a hash of its inputs (COPY contents).
 * A key maps to the manifest digest of the image after that step, kept in the store's metadata.
 */
import { createHash } from 'crypto';
import { ImageStore } from '../store';

export function stepKey(parent: string, instruction: string, inputs = ''): string {
  return 'sha256:' + createHash('sha256').update(`${parent}\n${instruction}\n${inputs}`).digest('hex');
}

export class BuildCache {
  constructor(private readonly store: ImageStore) {}

  /** The image recorded for `key`, if it is still in the store with all its blobs. */
  lookup(key: string): string | undefined {
    const m = this.store.meta.read();
    const digest = m.buildCache[key];
    if (!digest || !m.images[digest] || !this.store.blobs.has(digest)) return undefined;
    const manifest = this.store.getManifest(digest);
    return [manifest.config, ...manifest.layers].every((d) => this.store.blobs.has(d.digest)) ? digest : undefined;
  }

  record(key: string, digest: string): void {
    this.store.meta.update((m) => {
      m.buildCache[key] = digest;
    });
  }
}
