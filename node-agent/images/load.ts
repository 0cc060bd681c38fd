/**
 * `berth image load|save|import`: archives in either format, directory or tar, detected by content;
 * and rootfs tarballs imported as single-layer images.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { DirectoryWriter, extractArchive, TarWriter } from './archivefs';
import { composeImage, storeLayerFile } from './compose';
import { exportDockerArchive, importDockerArchive } from './dockerarchive';
import { exportOciLayout, ImportedImage, importOciLayout, LayoutImportOptions } from './layout';
import { ContainerConfig } from './media';
import { ImageStore } from './store';

export type ArchiveFormat = 'oci' | 'docker';

/** Loads a docker-archive or OCI layout, from a directory or a tar file. docker's manifest.json wins when both exist. */
export async function loadImages(store: ImageStore, source: string, options: LayoutImportOptions = {}): Promise<ImportedImage[]> {
  if (fs.statSync(source).isDirectory()) return loadDirectory(store, source, options);
  const tmp = path.join(store.blobs.tmpDir, `load-${randomBytes(6).toString('hex')}`);
  await fs.promises.mkdir(tmp);
  try {
    await extractArchive(source, tmp);
    return await loadDirectory(store, tmp, options);
  } finally {
    await fs.promises.rm(tmp, { recursive: true, force: true });
  }
}

function loadDirectory(store: ImageStore, dir: string, options: LayoutImportOptions): Promise<ImportedImage[]> {
  if (fs.existsSync(path.join(dir, 'manifest.json'))) return importDockerArchive(store, dir);
  if (fs.existsSync(path.join(dir, 'oci-layout'))) return importOciLayout(store, dir, options);
  throw new Error(`${dir}: neither a docker archive (manifest.json) nor an OCI layout (oci-layout)`);
}

/** Saves images as a tar file, or as a directory when `asDirectory` is set. */
export async function saveImages(store: ImageStore, refs: readonly string[], dest: string, format: ArchiveFormat, asDirectory = false): Promise<void> {
  const out = asDirectory ? new DirectoryWriter(dest) : new TarWriter(dest);
  if (format === 'oci') await exportOciLayout(store, refs, out);
  else await exportDockerArchive(store, refs, out);
}

/** `docker import`: a rootfs tarball (plain or gzip) becomes a one-layer image. */
export async function importRootfs(store: ImageStore, tarball: string, tag?: string, config: ContainerConfig = {}): Promise<string> {
  return store.transaction(async () => {
    const layer = await storeLayerFile(store, tarball);
    const digest = await composeImage(store, { layers: [layer], containerConfig: config, history: [{ created_by: `berth image import ${path.basename(tarball)}` }] });
    store.addImage(digest);
    if (tag) store.tag(tag, digest);
    return digest;
  });
}
