/**
 * Archive plumbing shared by OCI-layout and docker-archive import/export: write named files into a
 * directory or a tar file, and extract a tar (files, directories, symlinks that stay inside) to a directory.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Readable } from 'stream';
import { pipeline } from 'stream/promises';
import * as tar from 'tar-stream';
import { asCorruptArchive, safeEntryPath, UnsafeLayerEntryError } from './unpack';

export interface ArchiveWriter {
  writeBuffer(name: string, data: Buffer): Promise<void>;
  /** Copies a file of known size. */
  writeFile(name: string, source: string): Promise<void>;
  close(): Promise<void>;
}

export class DirectoryWriter implements ArchiveWriter {
  constructor(private readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  async writeBuffer(name: string, data: Buffer): Promise<void> {
    const dest = path.join(this.dir, name);
    await fs.promises.mkdir(path.dirname(dest), { recursive: true });
    await fs.promises.writeFile(dest, data);
  }

  async writeFile(name: string, source: string): Promise<void> {
    const dest = path.join(this.dir, name);
    await fs.promises.mkdir(path.dirname(dest), { recursive: true });
    await fs.promises.copyFile(source, dest);
  }

  async close(): Promise<void> {
    return undefined;
  }
}

export class TarWriter implements ArchiveWriter {
  private readonly pack = tar.pack();
  private readonly done: Promise<void>;
  private readonly dirs = new Set<string>();

  constructor(file: string) {
    this.done = pipeline(this.pack as unknown as Readable, fs.createWriteStream(file));
    this.done.catch(() => undefined);
  }

  async writeBuffer(name: string, data: Buffer): Promise<void> {
    this.parents(name);
    await new Promise<void>((resolve, reject) => this.pack.entry({ name, mode: 0o644, mtime: new Date(0) }, data, (e) => (e ? reject(e) : resolve())));
  }

  async writeFile(name: string, source: string): Promise<void> {
    this.parents(name);
    const { size } = await fs.promises.stat(source);
    const sink = this.pack.entry({ name, size, mode: 0o644, mtime: new Date(0) });
    await pipeline(fs.createReadStream(source, { highWaterMark: 1 << 20 }), sink as unknown as NodeJS.WritableStream);
  }

  async close(): Promise<void> {
    this.pack.finalize();
    await this.done;
  }

  private parents(name: string): void {
    const parts = name.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const dir = parts.slice(0, i).join('/') + '/';
      if (this.dirs.has(dir)) continue;
      this.dirs.add(dir);
      this.pack.entry({ name: dir, type: 'directory', mode: 0o755, mtime: new Date(0) });
    }
  }
}

/** Extracts an archive of plain files into `dest` (which must exist); rejects entries that would leave it. */
export async function extractArchive(file: string, dest: string): Promise<void> {
  const extract = tar.extract();
  const feeding = pipeline(fs.createReadStream(file, { highWaterMark: 1 << 20 }), extract as unknown as NodeJS.WritableStream);
  const failed = new Promise<never>((_r, reject) => feeding.catch(reject));
  failed.catch(() => undefined);
  try {
    for await (const entry of extract) {
    const step = async () => {
      const name = safeEntryPath(entry.header.name);
      const full = path.join(dest, name);
      if (name !== '') await fs.promises.mkdir(path.dirname(full), { recursive: true });
      switch (entry.header.type) {
        case 'directory':
          await fs.promises.mkdir(full, { recursive: true });
          entry.resume();
          break;
        case 'file':
          await pipeline(entry as unknown as Readable, fs.createWriteStream(full, { highWaterMark: 1 << 20 }));
          break;
        case 'symlink': {
          const target = entry.header.linkname ?? '';
          if (target.startsWith('/')) throw new UnsafeLayerEntryError(entry.header.name, 'absolute symlink in an image archive');
          safeEntryPath(path.posix.join(path.posix.dirname(name), target), `${entry.header.name} -> ${target}`);
          await fs.promises.symlink(target, full);
          entry.resume();
          break;
        }
        default:
          throw new UnsafeLayerEntryError(entry.header.name, `unexpected entry type "${entry.header.type}" in an image archive`);
      }
    };
      await Promise.race([step(), failed]);
    }
    await feeding;
  } catch (err) {
    throw asCorruptArchive(err, `archive ${file}`);
  }
}
