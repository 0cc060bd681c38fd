/**
 * Garbage collection for the image store: what is live (registered images, images prepared
 * containers run, and what they reference), and removal of everything else.
 */
import * as fs from 'fs';
import * as path from 'path';
import { digestHex } from './digest';
import type { ImageStore } from './store';

export interface GcResult {
  readonly blobsRemoved: number;
  readonly layersRemoved: number;
  readonly bytesFreed: number;
}

/** Temp files and half-unpacked layers older than this belong to a writer that died. */
const STALE_TEMP_MS = 60 * 60 * 1000;

/** Registered images and those prepared containers run. */
export function liveImages(store: ImageStore): Set<string> {
  return new Set([...Object.keys(store.meta.read().images), ...store.containerImages().values()]);
}

/** Blobs a live image needs: its manifest, config, layers and the index it came from. */
export function liveBlobs(store: ImageStore): Set<string> {
  const m = store.meta.read();
  const live = new Set<string>();
  for (const digest of liveImages(store)) {
    if (!store.blobs.has(digest)) continue;
    const manifest = store.getManifest(digest);
    for (const d of [digest, manifest.config.digest, ...manifest.layers.map((l) => l.digest), m.images[digest]?.indexDigest]) if (d) live.add(d);
  }
  return live;
}

/** Removes unreferenced blobs and unpacked layers (never `keepLayer`), and stale temp files. */
export async function collectGarbage(store: ImageStore, keepLayer: string): Promise<GcResult> {
  const blobs = liveBlobs(store);
  const layers = new Set<string>([keepLayer]);
  for (const digest of liveImages(store)) {
    if (!store.blobs.has(digest) || !store.blobs.has(store.getManifest(digest).config.digest)) continue;
    for (const id of store.getConfig(digest).rootfs.diff_ids) layers.add(digestHex(id));
  }
  let blobsRemoved = 0;
  let layersRemoved = 0;
  let bytesFreed = 0;
  for (const d of store.blobs.list()) {
    if (blobs.has(d)) continue;
    bytesFreed += store.blobs.remove(d);
    blobsRemoved++;
  }
  const staleBefore = Date.now() - STALE_TEMP_MS;
  for (const name of fs.readdirSync(store.layersDir)) {
    const full = path.join(store.layersDir, name);
    const inFlight = name.includes('.tmp-');
    // in-flight unpacks (`<diffid>.tmp-…`) belong to someone until they are old
    if (layers.has(name) || (inFlight && fs.statSync(full).mtimeMs > staleBefore)) continue;
    await fs.promises.rm(full, { recursive: true, force: true });
    if (!inFlight) layersRemoved++;
  }
  for (const name of fs.readdirSync(store.blobs.tmpDir)) {
    const full = path.join(store.blobs.tmpDir, name);
    if (fs.statSync(full).mtimeMs < staleBefore) await fs.promises.rm(full, { recursive: true, force: true });
  }
  return { blobsRemoved, layersRemoved, bytesFreed };
}
