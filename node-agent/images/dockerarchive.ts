/**
 * `docker save` archives: `manifest.json` ([{Config, RepoTags, Layers}]), `repositories`, the config as
 * `<id>.json`, layers as uncompressed `<id>/layer.tar`. Import accepts gzip or plain layer files and
 * symlinked layers (as skopeo writes them) and keeps the config bytes, so the image ID is unchanged.
 */
import * as fs from 'fs';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import { createGunzip } from 'zlib';
import { ArchiveWriter } from './archivefs';
import { DigestMismatchError, digestHex } from './digest';
import { manifestFor, storeLayerFile } from './compose';
import { ImportedImage } from './layout';
import { ImageConfig, layerCompression } from './media';
import { familiarReference, formatReference, parseReference } from './refs';
import { ImageStore } from './store';
import { safeEntryPath } from './unpack';

interface DockerManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

export async function exportDockerArchive(store: ImageStore, refs: readonly string[], out: ArchiveWriter): Promise<void> {
  const entries: DockerManifestEntry[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const written = new Set<string>();
  const byDigest = new Map<string, string[]>();
  for (const ref of refs) {
    const digest = store.resolve(ref);
    const tags = byDigest.get(digest) ?? [];
    try {
      const parsed = parseReference(ref);
      if (parsed.tag !== undefined && parsed.digest === undefined) tags.push(familiarReference(parsed));
    } catch {
      // an image ID: saved without a name
    }
    byDigest.set(digest, tags);
  }
  for (const [digest, tags] of byDigest) {
    const manifest = store.getManifest(digest);
    const config = store.getConfig(digest);
    const configName = `${digestHex(manifest.config.digest)}.json`;
    if (!written.has(configName)) await out.writeFile(configName, store.blobs.path(manifest.config.digest));
    written.add(configName);
    const layers: string[] = [];
    for (const [i, layer] of manifest.layers.entries()) {
      const id = digestHex(config.rootfs.diff_ids[i]);
      const name = `${id}/layer.tar`;
      layers.push(name);
      if (written.has(name)) continue;
      written.add(name);
      await out.writeBuffer(`${id}/VERSION`, Buffer.from('1.0'));
      if (layerCompression(layer.mediaType) === 'none') {
        await out.writeFile(name, store.blobs.path(layer.digest));
        continue;
      }
      // the tar header needs the uncompressed size up front: decompress to a temp file first
      const tmp = path.join(store.blobs.tmpDir, `export-${id}`);
      try {
        await pipeline(store.blobs.open(layer.digest), createGunzip(), fs.createWriteStream(tmp));
        await out.writeFile(name, tmp);
      } finally {
        await fs.promises.rm(tmp, { force: true });
      }
    }
    entries.push({ Config: configName, RepoTags: tags, Layers: layers });
    for (const t of tags) {
      const p = parseReference(t);
      const repo = familiarReference({ registry: p.registry, repository: p.repository });
      repositories[repo] = { ...repositories[repo], [p.tag as string]: digestHex(config.rootfs.diff_ids.at(-1) ?? manifest.config.digest) };
    }
  }
  await out.writeBuffer('manifest.json', Buffer.from(JSON.stringify(entries)));
  await out.writeBuffer('repositories', Buffer.from(JSON.stringify(repositories)));
  await out.close();
}

/** Imports every image listed in an extracted docker archive's manifest.json. */
export async function importDockerArchive(store: ImageStore, dir: string): Promise<ImportedImage[]> {
  const entries = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as DockerManifestEntry[];
  if (!Array.isArray(entries)) throw new Error(`${dir}/manifest.json is not a docker-archive manifest list`);
  const file = (name: string) => path.join(dir, safeEntryPath(name));
  return store.transaction(async () => {
    const imported: ImportedImage[] = [];
    for (const entry of entries) {
      const configBytes = await fs.promises.readFile(file(entry.Config));
      const config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
      const diffIds = config.rootfs?.diff_ids ?? [];
      if (diffIds.length !== entry.Layers.length) {
        throw new Error(`docker archive ${entry.Config}: config lists ${diffIds.length} diff IDs for ${entry.Layers.length} layers`);
      }
      const layers = [];
      for (const [i, name] of entry.Layers.entries()) {
        const layer = await storeLayerFile(store, file(name));
        if (layer.diffId !== diffIds[i]) throw new DigestMismatchError(diffIds[i], layer.diffId, `layer ${name}`);
        layers.push(layer.descriptor);
      }
      const configBlob = await store.blobs.put(configBytes);
      const digest = await manifestFor(store, configBlob, layers);
      store.addImage(digest);
      const tags = (entry.RepoTags ?? []).map((t) => formatReference(parseReference(t)));
      for (const t of tags) store.tag(t, digest);
      imported.push({ digest, tags });
    }
    return imported;
  });
}

