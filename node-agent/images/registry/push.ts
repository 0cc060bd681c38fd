/**
 * Push: send config and layers the repository does not have (HEAD check first, then a cross-repository
 * mount from another repository of the same registry that holds the blob, then an upload), in parallel,
 * and finally the manifest under the tag.
 */
import { Readable, Transform } from 'stream';
import { Descriptor, MediaType } from '../media';
import { parseReference } from '../refs';
import { ImageStore } from '../store';
import { RegistryClient, RegistryClientOptions } from './client';
import { forEachLimited, ProgressCallback } from './progress';

export interface PushOptions extends RegistryClientOptions {
  readonly onProgress?: ProgressCallback;
  readonly concurrency?: number;
}

export interface PushResult {
  readonly digest: string;
  /** Blobs uploaded, mounted, or found already present. */
  readonly uploaded: string[];
  readonly mounted: string[];
  readonly existing: string[];
}

/** Pushes the local image `localRef` to `target` (default: `localRef` itself). */
export async function pushImage(store: ImageStore, localRef: string, target?: string, options: PushOptions = {}): Promise<PushResult> {
  const digest = store.resolve(localRef);
  const dest = parseReference(target ?? localRef);
  const manifestBytes = store.blobs.read(digest);
  const manifest = store.getManifest(digest);
  const client = new RegistryClient(dest.registry, options);
  const result: PushResult = { digest, uploaded: [], mounted: [], existing: [] };
  const sources = mountSources(store, dest.registry, dest.repository);
  try {
    const blobs = [{ d: manifest.config, kind: 'config' as const }, ...manifest.layers.map((d) => ({ d, kind: 'layer' as const }))];
    await forEachLimited(blobs, options.concurrency ?? 4, async ({ d, kind }) => {
      const report = (current: number, status: 'exists' | 'mounted' | 'transferring' | 'done') =>
        options.onProgress?.({ digest: d.digest, kind, current, total: d.size, status });
      if ((await client.blobSize(dest.repository, d.digest)) !== undefined) {
        result.existing.push(d.digest);
        return report(d.size, 'exists');
      }
      for (const from of sources.get(d.digest) ?? []) {
        if (await client.mountBlob(dest.repository, d.digest, from)) {
          result.mounted.push(d.digest);
          return report(d.size, 'mounted');
        }
      }
      await client.uploadBlob(dest.repository, d.digest, d.size, () => counting(store.blobs.open(d.digest), d, (n) => report(n, 'transferring')));
      result.uploaded.push(d.digest);
      report(d.size, 'done');
    });
    await client.putManifest(dest.repository, dest.tag ?? digest, manifestBytes, manifest.mediaType ?? MediaType.ociManifest);
    return result;
  } finally {
    client.close();
  }
}

/** blob digest → other repositories of `registry` that (by our local tags) hold it. */
function mountSources(store: ImageStore, registry: string, repository: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [tag, digest] of Object.entries(store.meta.read().tags)) {
    const ref = parseReference(tag);
    if (ref.registry !== registry || ref.repository === repository || !store.blobs.has(digest)) continue;
    const m = store.getManifest(digest);
    for (const d of [m.config, ...m.layers]) {
      const list = out.get(d.digest) ?? [];
      if (!list.includes(ref.repository)) list.push(ref.repository);
      out.set(d.digest, list);
    }
  }
  return out;
}

function counting(src: Readable, d: Descriptor, onBytes: (total: number) => void): Readable {
  let n = 0;
  return src.pipe(new Transform({
    transform(chunk: Buffer, _enc, cb) {
      onBytes((n += chunk.length));
      cb(null, chunk);
    },
  })).on('end', () => onBytes(d.size));
}
