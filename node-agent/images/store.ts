/**
 * The node's image store: verified blobs, OCI manifests/configs, tags, layers unpacked once and
 * shared read-only through overlayfs, per-container writable layers, and garbage collection.
 *
 * Layout under `root` (default `$BERTH_HOME/images`):
 *   blobs/sha256/<hex>     content-addressed blobs       index.json   images, tags, build cache
 *   layers/<diffid hex>    unpacked layers (overlay form) layers/empty the lower dir of a layer-less image
 *   containers/<id>/{upper,work,image,berth-rootfs}       one container's writable layer and mount point
 *   tmp/                   in-flight writes, never visible as blobs or layers
 */
import { AsyncLocalStorage } from 'async_hooks';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BlobInfo, BlobStore } from './blobs';
import { digestHex, isDigest, SizeMismatchError } from './digest';
import { Descriptor, ImageConfig, isIndexType, isManifestType, layerCompression, Manifest, MediaType, UnknownMediaTypeError } from './media';
import { ImageRecord, MetadataFile, StoreMetadata } from './metadata';
import { collectGarbage, GcResult, liveBlobs } from './gc';
import { isOverlayMounted, mountOverlay, unmount } from './overlay';
import { formatReference, ImageReference, parseReference } from './refs';
import { unpackLayer } from './unpack';

export interface ImageStoreOptions {
  /** Defaults to `$BERTH_HOME/images` (BERTH_HOME defaults to ~/.berth). */
  readonly root?: string;
}

export class ImageNotFoundError extends Error {
  constructor(readonly ref: string) {
    super(`image "${ref}" not found`);
    this.name = 'ImageNotFoundError';
  }
}

export class ImageInUseError extends Error {
  constructor(readonly digest: string, readonly containers: string[]) {
    super(`image ${digest} is used by container(s) ${containers.join(', ')}`);
    this.name = 'ImageInUseError';
  }
}

export interface ImageSummary {
  readonly digest: string;
  readonly configDigest: string;
  readonly tags: string[];
  readonly created: string;
  /** Sum of compressed layer sizes plus config and manifest, as registries count it. */
  readonly size: number;
  readonly buildCache: boolean;
}

export function defaultImageRoot(): string {
  return path.join(process.env.BERTH_HOME ?? path.join(os.homedir(), '.berth'), 'images');
}

const EMPTY_LAYER = 'empty';

export class ImageStore {
  readonly root: string;
  readonly blobs: BlobStore;
  readonly meta: MetadataFile;
  /** Unpacked layers, one directory per diff ID. */
  readonly layersDir: string;
  private readonly containersDir: string;
  private readonly unpacking = new Map<string, Promise<string>>();
  /** The blobs added by the transaction the current async call chain runs in. */
  private readonly writes = new AsyncLocalStorage<Set<string>>();

  constructor(options: ImageStoreOptions = {}) {
    this.root = path.resolve(options.root ?? defaultImageRoot());
    this.blobs = new BlobStore(this.root);
    this.blobs.onCreated = (digest) => this.writes.getStore()?.add(digest);
    this.meta = new MetadataFile(this.root);
    this.layersDir = path.join(this.root, 'layers');
    this.containersDir = path.join(this.root, 'containers');
    fs.mkdirSync(path.join(this.layersDir, EMPTY_LAYER), { recursive: true });
    fs.mkdirSync(this.containersDir, { recursive: true });
  }

  /**
   * Runs `fn`; if it throws, every blob it added is removed again, so a failed import or pull
   * leaves the store exactly as it was.
   */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    const added = new Set<string>();
    try {
      return await this.writes.run(added, fn);
    } catch (err) {
      // concurrent transactions track their own blobs; one that an image already uses stays
      const live = liveBlobs(this);
      for (const d of added) if (!live.has(d)) this.blobs.remove(d);
      throw err;
    }
  }

  async putJson(doc: unknown): Promise<BlobInfo> {
    return this.blobs.put(Buffer.from(JSON.stringify(doc)));
  }

  /** Parses and checks a manifest blob: schema version, media types, descriptor shapes. */
  getManifest(digest: string): Manifest {
    return parseManifest(this.blobs.read(digest), digest);
  }

  getConfig(manifestDigest: string): ImageConfig {
    const manifest = this.getManifest(manifestDigest);
    return JSON.parse(this.blobs.read(manifest.config.digest).toString('utf8')) as ImageConfig;
  }

  /**
   * Registers a manifest already in the blob store as an image, after checking that its config and
   * layers are present with the sizes the manifest claims and that the config lists one diff ID per layer.
   */
  addImage(manifestDigest: string, record: Partial<ImageRecord> = {}): void {
    const manifest = this.getManifest(manifestDigest);
    for (const d of [manifest.config, ...manifest.layers]) {
      const actual = this.blobs.size(d.digest);
      if (actual !== d.size) throw new SizeMismatchError(d.size, actual, `${d.digest} in manifest ${manifestDigest}`);
    }
    const config = this.getConfig(manifestDigest);
    if (config.rootfs?.diff_ids?.length !== manifest.layers.length) {
      throw new Error(`image ${manifestDigest}: config lists ${config.rootfs?.diff_ids?.length ?? 0} diff IDs for ${manifest.layers.length} layers`);
    }
    this.meta.update((m) => {
      const existing = m.images[manifestDigest];
      m.images[manifestDigest] = {
        created: existing?.created ?? config.created ?? new Date().toISOString(),
        ...(record.indexDigest ?? existing?.indexDigest ? { indexDigest: record.indexDigest ?? existing?.indexDigest } : {}),
        // an image stays a cache-only image only while nobody registers it for its own sake
        ...(record.buildCache && (existing === undefined || existing.buildCache) ? { buildCache: true } : {}),
      };
    });
  }

  tag(ref: string | ImageReference, manifestDigest: string): void {
    const parsed = typeof ref === 'string' ? parseReference(ref) : ref;
    if (parsed.tag === undefined) throw new Error(`cannot tag with a digest reference ${formatReference(parsed)}`);
    this.meta.update((m) => {
      if (!m.images[manifestDigest]) throw new ImageNotFoundError(manifestDigest);
      m.tags[formatReference({ registry: parsed.registry, repository: parsed.repository, tag: parsed.tag })] = manifestDigest;
      const rec = m.images[manifestDigest];
      if (rec.buildCache) m.images[manifestDigest] = { created: rec.created, ...(rec.indexDigest ? { indexDigest: rec.indexDigest } : {}) };
    });
  }

  /**
   * Resolves `name[:tag]`, `name@digest`, or an ID — a manifest digest, or an image ID (the config
   * digest, as `berth image ls` shows it), in full or as a unique hex prefix — to a manifest digest;
   * throws ImageNotFoundError.
   */
  resolve(refOrId: string): string {
    const m = this.meta.read();
    if (m.images[refOrId]) return refOrId;
    const hexPrefix = refOrId.replace(/^sha256:/, '');
    if (/^[a-f0-9]{6,64}$/.test(hexPrefix)) {
      const matches = Object.keys(m.images).filter((d) =>
        digestHex(d).startsWith(hexPrefix) || digestHex(this.getManifest(d).config.digest).startsWith(hexPrefix));
      if (matches.length === 1) return matches[0];
      if (isDigest(refOrId) || matches.length > 1) throw new ImageNotFoundError(matches.length > 1 ? `${refOrId} (ambiguous)` : refOrId);
    }
    let parsed: ImageReference;
    try {
      parsed = parseReference(refOrId);
    } catch {
      throw new ImageNotFoundError(refOrId);
    }
    if (parsed.digest !== undefined) {
      if (m.images[parsed.digest]) return parsed.digest;
      throw new ImageNotFoundError(refOrId);
    }
    const digest = m.tags[formatReference(parsed)];
    if (!digest) throw new ImageNotFoundError(refOrId);
    return digest;
  }

  list(): ImageSummary[] {
    const m = this.meta.read();
    return Object.entries(m.images).map(([digest, rec]) => this.summarize(digest, rec, m));
  }

  inspect(refOrId: string): ImageSummary & { manifest: Manifest; config: ImageConfig } {
    const digest = this.resolve(refOrId);
    const m = this.meta.read();
    return { ...this.summarize(digest, m.images[digest], m), manifest: this.getManifest(digest), config: this.getConfig(digest) };
  }

  private summarize(digest: string, rec: ImageRecord, m: StoreMetadata): ImageSummary {
    const manifest = this.getManifest(digest);
    const size = manifest.layers.reduce((n, l) => n + l.size, manifest.config.size) + this.blobs.size(digest);
    const tags = Object.entries(m.tags).filter(([, d]) => d === digest).map(([t]) => t);
    return { digest, configDigest: manifest.config.digest, tags, created: rec.created, size, buildCache: rec.buildCache === true };
  }

  /**
   * `docker rmi` semantics: a tag reference that shares its image with other tags only removes the tag;
   * otherwise the image and all its tags go (refused while a container uses it, unless `force`).
   * Blobs are reclaimed by gc(). Returns the tags removed and whether the image itself was removed.
   */
  remove(refOrId: string, force = false): { untagged: string[]; deleted?: string } {
    const digest = this.resolve(refOrId);
    const m = this.meta.read();
    const tags = Object.entries(m.tags).filter(([, d]) => d === digest).map(([t]) => t);
    let byTag: string | undefined;
    try {
      const parsed = parseReference(refOrId);
      if (parsed.digest === undefined) byTag = formatReference(parsed);
    } catch {
      byTag = undefined;
    }
    if (byTag !== undefined && tags.includes(byTag) && tags.length > 1) {
      this.meta.update((mm) => delete mm.tags[byTag as string]);
      return { untagged: [byTag] };
    }
    const users = this.containersUsing(digest);
    if (users.length > 0 && !force) throw new ImageInUseError(digest, users);
    this.meta.update((mm) => {
      for (const t of tags) delete mm.tags[t];
      delete mm.images[digest];
      for (const [k, d] of Object.entries(mm.buildCache)) if (d === digest) delete mm.buildCache[k];
    });
    return { untagged: tags, deleted: digest };
  }

  /** Removes untagged images no container uses (with `all`, build-cache images too), then collects garbage. */
  async prune(all = false): Promise<{ deleted: string[] } & GcResult> {
    const m = this.meta.read();
    const tagged = new Set(Object.values(m.tags));
    const used = new Set(this.containerImages().values());
    const cached = new Set(Object.values(m.buildCache));
    const victims = Object.keys(m.images).filter((d) => !tagged.has(d) && !used.has(d) && (all || !cached.has(d)));
    this.meta.update((mm) => {
      for (const d of victims) delete mm.images[d];
      if (all) mm.buildCache = {};
    });
    return { deleted: victims, ...(await this.gc()) };
  }

  /** Deletes blobs and unpacked layers that no image (or container) references, and temp files left by dead writers. */
  async gc(): Promise<GcResult> {
    return collectGarbage(this, EMPTY_LAYER);
  }

  /** Unpacks every layer of the image (each at most once, concurrently); returns lower dirs, base first. */
  async ensureUnpacked(manifestDigest: string): Promise<string[]> {
    const manifest = this.getManifest(manifestDigest);
    const config = this.getConfig(manifestDigest);
    if (manifest.layers.length === 0) return [path.join(this.layersDir, EMPTY_LAYER)];
    return Promise.all(manifest.layers.map((layer, i) => this.unpackOnce(layer, config.rootfs.diff_ids[i])));
  }

  /** The unpacked directory of a layer, by diff ID (exists only once unpacked). */
  layerDir(diffId: string): string {
    return path.join(this.layersDir, digestHex(diffId));
  }

  private unpackOnce(layer: Descriptor, diffId: string): Promise<string> {
    const dest = this.layerDir(diffId);
    if (fs.existsSync(dest)) return Promise.resolve(dest);
    let pending = this.unpacking.get(diffId);
    if (!pending) {
      const compression = layerCompression(layer.mediaType);
      pending = unpackLayer(this.blobs.open(layer.digest), compression, dest, diffId)
        .then(() => dest)
        .finally(() => this.unpacking.delete(diffId));
      this.unpacking.set(diffId, pending);
    }
    return pending;
  }

  private containerDir(containerId: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(containerId)) throw new Error(`invalid container id "${containerId}"`);
    return path.join(this.containersDir, containerId);
  }

  /**
   * Mounts the image's layers plus a fresh writable upper dir for the container and returns the
   * rootfs path (`…/containers/<id>/berth-rootfs`). Idempotent for an already prepared container.
   */
  async prepareRootfs(imageDigest: string, containerId: string): Promise<string> {
    const dir = this.containerDir(containerId);
    const target = path.join(dir, 'berth-rootfs');
    const digest = this.resolve(imageDigest);
    const lowerDirs = await this.ensureUnpacked(digest);
    for (const sub of ['upper', 'work', 'berth-rootfs']) await fs.promises.mkdir(path.join(dir, sub), { recursive: true });
    await fs.promises.writeFile(path.join(dir, 'image'), digest);
    if (!(await isOverlayMounted(target))) {
      try {
        await mountOverlay({ lowerDirs, upperDir: path.join(dir, 'upper'), workDir: path.join(dir, 'work'), target });
      } catch (err) {
        await fs.promises.rm(dir, { recursive: true, force: true });
        throw err;
      }
    }
    return target;
  }

  /** The container's writable layer (what a build step changed). */
  upperDir(containerId: string): string {
    return path.join(this.containerDir(containerId), 'upper');
  }

  /** Unmounts and deletes the container's rootfs and writable layer. No-op for an unknown container. */
  async releaseRootfs(containerId: string): Promise<void> {
    const dir = this.containerDir(containerId);
    await unmount(path.join(dir, 'berth-rootfs'));
    await fs.promises.rm(dir, { recursive: true, force: true });
  }

  /** containerId → image digest for every prepared container. */
  containerImages(): Map<string, string> {
    const out = new Map<string, string>();
    for (const id of fs.readdirSync(this.containersDir)) {
      try {
        out.set(id, fs.readFileSync(path.join(this.containersDir, id, 'image'), 'utf8'));
      } catch {
        // a container directory without an image file is mid-creation or mid-removal
      }
    }
    return out;
  }

  private containersUsing(digest: string): string[] {
    return [...this.containerImages().entries()].filter(([, d]) => d === digest).map(([id]) => id);
  }
}

/** Parses and validates a manifest document; `digest` only names it in errors. */
export function parseManifest(raw: Buffer, digest: string): Manifest {
  let doc: Manifest;
  try {
    doc = JSON.parse(raw.toString('utf8')) as Manifest;
  } catch (err) {
    throw new Error(`manifest ${digest} is not valid JSON`, { cause: err });
  }
  if (doc.schemaVersion !== 2) throw new Error(`manifest ${digest}: unsupported schemaVersion ${String(doc.schemaVersion)}`);
  if (doc.mediaType !== undefined && !isManifestType(doc.mediaType)) {
    throw new UnknownMediaTypeError(doc.mediaType, `manifest ${digest}${isIndexType(doc.mediaType) ? ' (an index, not an image manifest)' : ''}`);
  }
  if (!doc.config || !Array.isArray(doc.layers)) throw new Error(`manifest ${digest}: missing config or layers`);
  if (doc.config.mediaType !== MediaType.ociConfig && doc.config.mediaType !== MediaType.dockerConfig) {
    throw new UnknownMediaTypeError(doc.config.mediaType, `config of manifest ${digest}`);
  }
  for (const d of [doc.config, ...doc.layers]) {
    if (!isDigest(d.digest) || !Number.isSafeInteger(d.size) || d.size < 0) throw new Error(`manifest ${digest}: bad descriptor ${JSON.stringify(d)}`);
  }
  for (const l of doc.layers) layerCompression(l.mediaType);
  return doc;
}
