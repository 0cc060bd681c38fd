/** OCI image layout (image-spec `image-layout.md`): export images to, and import them from, a layout directory. */
import * as fs from 'fs';
import * as path from 'path';
import { ArchiveWriter } from './archivefs';
import { digestHex } from './digest';
import { Descriptor, Index, isIndexType, isManifestType, localPlatform, MediaType, Platform, UnknownMediaTypeError } from './media';
import { formatReference, parseReference } from './refs';
import { selectPlatform } from './registry/pull';
import { ImageStore, parseManifest } from './store';

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
/** containerd's (and buildkit's) annotation for the full image name. */
export const IMAGE_NAME_ANNOTATION = 'io.containerd.image.name';

export interface ImportedImage {
  readonly digest: string;
  readonly tags: string[];
}

/** Blobs an image needs, manifest first. */
export function imageBlobs(store: ImageStore, digest: string): string[] {
  const m = store.getManifest(digest);
  return [digest, m.config.digest, ...m.layers.map((l) => l.digest)];
}

export async function exportOciLayout(store: ImageStore, refs: readonly string[], out: ArchiveWriter): Promise<void> {
  const manifests: Descriptor[] = [];
  const written = new Set<string>();
  await out.writeBuffer('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  for (const ref of refs) {
    const digest = store.resolve(ref);
    const manifest = store.getManifest(digest);
    const annotations: Record<string, string> = {};
    try {
      const parsed = parseReference(ref);
      if (parsed.tag !== undefined && parsed.digest === undefined) {
        annotations[REF_NAME_ANNOTATION] = parsed.tag;
        annotations[IMAGE_NAME_ANNOTATION] = formatReference(parsed);
      }
    } catch {
      // an image ID, not a name: exported without a name
    }
    manifests.push({ mediaType: manifest.mediaType ?? MediaType.ociManifest, digest, size: store.blobs.size(digest),
      ...(Object.keys(annotations).length ? { annotations } : {}) });
    for (const d of imageBlobs(store, digest)) {
      if (written.has(d)) continue;
      written.add(d);
      await out.writeFile(`blobs/sha256/${digestHex(d)}`, store.blobs.path(d));
    }
  }
  const index: Index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests };
  await out.writeBuffer('index.json', Buffer.from(JSON.stringify(index)));
  await out.close();
}

export interface LayoutImportOptions {
  /** Repository for entries whose only name is a bare tag (`org.opencontainers.image.ref.name: latest`). */
  readonly repository?: string;
  readonly platform?: Platform;
}

/**
 * Imports every image of a layout directory. Each blob is copied through the verifying writer;
 * manifests are validated before their layers are copied; a failure leaves the store as it was.
 */
export async function importOciLayout(store: ImageStore, dir: string, options: LayoutImportOptions = {}): Promise<ImportedImage[]> {
  const layoutFile = path.join(dir, 'oci-layout');
  let version: string | undefined;
  try {
    version = (JSON.parse(fs.readFileSync(layoutFile, 'utf8')) as { imageLayoutVersion?: string }).imageLayoutVersion;
  } catch (err) {
    throw new Error(`${dir} is not an OCI image layout (reading oci-layout)`, { cause: err });
  }
  if (version !== '1.0.0') throw new Error(`${dir}: unsupported imageLayoutVersion ${String(version)}`);
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as Index;
  const copy = (d: Descriptor) => store.blobs.write(fs.createReadStream(path.join(dir, 'blobs', 'sha256', digestHex(d.digest)), { highWaterMark: 1 << 20 }), d);
  return store.transaction(async () => {
    const imported: ImportedImage[] = [];
    for (const desc of index.manifests) {
      let manifestDesc = desc;
      if (isIndexType(desc.mediaType)) {
        await copy(desc);
        const nested = JSON.parse(store.blobs.read(desc.digest).toString('utf8')) as Index;
        const chosen = selectPlatform(nested, options.platform ?? localPlatform(), `${dir} ${desc.digest}`);
        manifestDesc = nested.manifests.find((m) => m.digest === chosen) as Descriptor;
      } else if (!isManifestType(desc.mediaType)) {
        throw new UnknownMediaTypeError(desc.mediaType, `${dir} index.json entry ${desc.digest}`);
      }
      await copy(manifestDesc);
      const manifest = parseManifest(store.blobs.read(manifestDesc.digest), manifestDesc.digest);
      for (const d of [manifest.config, ...manifest.layers]) if (!store.blobs.has(d.digest)) await copy(d);
      store.addImage(manifestDesc.digest);
      const tags = layoutTags(desc, options.repository);
      for (const t of tags) store.tag(t, manifestDesc.digest);
      imported.push({ digest: manifestDesc.digest, tags });
    }
    return imported;
  });
}

function layoutTags(desc: Descriptor, repository: string | undefined): string[] {
  const full = desc.annotations?.[IMAGE_NAME_ANNOTATION];
  if (full) return [formatReference(parseReference(full))];
  const refName = desc.annotations?.[REF_NAME_ANNOTATION];
  if (!refName) return [];
  if (/[/:]/.test(refName)) return [formatReference(parseReference(refName))];
  return repository ? [formatReference(parseReference(`${repository}:${refName}`))] : [];
}
