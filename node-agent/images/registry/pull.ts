/**
 * Pull: resolve a reference to a manifest (selecting the local platform from an index), verify it,
 * then fetch config and layers in parallel, each verified by digest and size while written.
 * Everything happens in a store transaction: a failed pull leaves no new blob behind.
 */
import { DigestMismatchError, isDigest, sha256 } from '../digest';
import { Index, isIndexType, isManifestType, localPlatform, Platform, UnknownMediaTypeError } from '../media';
import { formatReference, parseReference } from '../refs';
import { ImageStore, parseManifest } from '../store';
import { FetchedManifest, RegistryClient, RegistryClientOptions } from './client';
import { forEachLimited, ProgressCallback } from './progress';

export interface PullOptions extends RegistryClientOptions {
  readonly platform?: Platform;
  readonly onProgress?: ProgressCallback;
  /** Parallel blob downloads (default 4). */
  readonly concurrency?: number;
}

export interface PullResult {
  readonly digest: string;
  readonly reference: string;
}

export async function pullImage(store: ImageStore, ref: string, options: PullOptions = {}): Promise<PullResult> {
  const parsed = parseReference(ref);
  const client = new RegistryClient(parsed.registry, options);
  try {
    return await store.transaction(async () => {
      const reference = parsed.digest ?? (parsed.tag as string);
      let fetched = verified(await client.getManifest(parsed.repository, reference), reference);
      let indexDigest: string | undefined;
      if (isIndexType(fetched.mediaType) || isIndexType(mediaTypeOf(fetched.body))) {
        indexDigest = sha256(fetched.body);
        const chosen = selectPlatform(JSON.parse(fetched.body.toString('utf8')) as Index, options.platform ?? localPlatform(), ref);
        await store.blobs.put(fetched.body, { digest: indexDigest });
        fetched = verified(await client.getManifest(parsed.repository, chosen), chosen);
      } else if (!isManifestType(fetched.mediaType) && !isManifestType(mediaTypeOf(fetched.body))) {
        throw new UnknownMediaTypeError(fetched.mediaType, `manifest of ${ref}`);
      }
      const digest = sha256(fetched.body);
      const manifest = parseManifest(fetched.body, digest);
      const blobs = [{ d: manifest.config, kind: 'config' as const }, ...manifest.layers.map((d) => ({ d, kind: 'layer' as const }))];
      await forEachLimited(blobs, options.concurrency ?? 4, async ({ d, kind }) => {
        const report = (current: number, status: 'exists' | 'transferring' | 'done') =>
          options.onProgress?.({ digest: d.digest, kind, current, total: d.size, status });
        if (store.blobs.has(d.digest) && store.blobs.size(d.digest) === d.size) return report(d.size, 'exists');
        let current = 0;
        await store.blobs.write(await client.getBlob(parsed.repository, d.digest), d, (n) => report((current += n), 'transferring'));
        report(d.size, 'done');
      });
      await store.blobs.put(fetched.body, { digest });
      store.addImage(digest, indexDigest ? { indexDigest } : {});
      if (parsed.tag !== undefined) store.tag(parsed, digest);
      return { digest, reference: formatReference(parsed) };
    });
  } finally {
    client.close();
  }
}

/** A manifest fetched by digest must hash to it; one fetched by tag must match the registry's stated digest. */
function verified(m: FetchedManifest, reference: string): FetchedManifest {
  const actual = sha256(m.body);
  const expected = isDigest(reference) ? reference : m.digest;
  if (expected !== undefined && expected !== actual) throw new DigestMismatchError(expected, actual, `manifest ${reference}`);
  return m;
}

function mediaTypeOf(body: Buffer): string | undefined {
  try {
    return (JSON.parse(body.toString('utf8')) as { mediaType?: string }).mediaType;
  } catch {
    return undefined;
  }
}

export function selectPlatform(index: Index, platform: Platform, ref: string): string {
  const match = index.manifests.find((m) => m.platform?.os === platform.os && m.platform?.architecture === platform.architecture
    && (platform.variant === undefined || m.platform?.variant === platform.variant) && isManifestType(m.mediaType));
  if (!match) {
    const have = index.manifests.map((m) => `${m.platform?.os ?? '?'}/${m.platform?.architecture ?? '?'}`).join(', ');
    throw new Error(`${ref}: no manifest for ${platform.os}/${platform.architecture} in the index (has: ${have || 'none'})`);
  }
  return match.digest;
}
