/** Assembling images from uncompressed layer tarballs: gzip, diff IDs, config, manifest, registration. */
import { createHash } from 'crypto';
import * as fs from 'fs';
import { Readable, Writable } from 'stream';
import { pipeline } from 'stream/promises';
import { createGunzip, createGzip, constants as zlibConstants } from 'zlib';
import { BlobInfo } from './blobs';
import { Descriptor, HistoryEntry, ImageConfig, localPlatform, Manifest, MediaType } from './media';
import { ImageStore } from './store';

export interface NewLayer {
  readonly descriptor: Descriptor;
  readonly diffId: string;
}

/** Gzips an uncompressed layer stream into the store, hashing both forms on the way. */
export async function storeLayer(store: ImageStore, tarStream: Readable): Promise<NewLayer> {
  const diffHash = createHash('sha256');
  const gzip = createGzip({ level: zlibConstants.Z_BEST_SPEED });
  tarStream.on('data', (chunk: Buffer) => diffHash.update(chunk));
  const gzipping = pipeline(tarStream, gzip);
  gzipping.catch(() => undefined);
  const blob: BlobInfo = await store.blobs.write(gzip);
  await gzipping;
  return { descriptor: { mediaType: MediaType.ociLayerGzip, digest: blob.digest, size: blob.size }, diffId: 'sha256:' + diffHash.digest('hex') };
}

export interface ComposeInput {
  /** Layers of the parent image (may be empty), followed by `layers`. */
  readonly base?: { manifest: Manifest; config: ImageConfig };
  readonly layers: readonly NewLayer[];
  /** Runtime config replacing the base's. */
  readonly containerConfig?: ImageConfig['config'];
  /** History entries appended for this image's steps. */
  readonly history?: readonly HistoryEntry[];
  readonly created?: string;
}

/** Writes config and manifest blobs and returns the manifest digest (not yet registered as an image). */
export async function composeImage(store: ImageStore, input: ComposeInput): Promise<string> {
  const platform = localPlatform();
  const config: ImageConfig = {
    created: input.created ?? new Date().toISOString(),
    architecture: input.base?.config.architecture ?? platform.architecture,
    os: input.base?.config.os ?? platform.os,
    config: input.containerConfig ?? input.base?.config.config ?? {},
    rootfs: { type: 'layers', diff_ids: [...(input.base?.config.rootfs.diff_ids ?? []), ...input.layers.map((l) => l.diffId)] },
    history: [...(input.base?.config.history ?? []), ...(input.history ?? [])],
  };
  const configBlob = await store.putJson(config);
  return manifestFor(store, configBlob, [...(input.base?.manifest.layers ?? []), ...input.layers.map((l) => l.descriptor)]);
}

/** Stores a layer file as found in an archive: gzip blobs as they are, plain tars gzipped; both give their diff ID. */
export async function storeLayerFile(store: ImageStore, file: string): Promise<NewLayer> {
  const fh = await fs.promises.open(file, 'r');
  const magic = Buffer.alloc(2);
  await fh.read(magic, 0, 2, 0);
  await fh.close();
  if (magic[0] !== 0x1f || magic[1] !== 0x8b) return storeLayer(store, fs.createReadStream(file, { highWaterMark: 1 << 20 }));
  const diffHash = createHash('sha256');
  await pipeline(fs.createReadStream(file, { highWaterMark: 1 << 20 }), createGunzip(), new Writable({
    write(chunk: Buffer, _enc, cb) {
      diffHash.update(chunk);
      cb();
    },
  }));
  const blob = await store.blobs.write(fs.createReadStream(file, { highWaterMark: 1 << 20 }));
  return { descriptor: { mediaType: MediaType.ociLayerGzip, digest: blob.digest, size: blob.size }, diffId: 'sha256:' + diffHash.digest('hex') };
}

/** Writes a manifest for an existing config blob and layers; returns its digest. */
export async function manifestFor(store: ImageStore, config: BlobInfo, layers: readonly Descriptor[]): Promise<string> {
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: config.digest, size: config.size },
    layers: [...layers],
  };
  return (await store.putJson(manifest)).digest;
}
