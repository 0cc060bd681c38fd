/**
 * `berth image build|pull|push|ls|inspect|history|tag|rm|prune|save|load|import` — the node's image
 * store, shaped like `docker image`. Works on `$BERTH_HOME/images` (or `--root`) without an API server.
 */
import type { Command } from 'commander';
import * as fs from 'fs';
import { BerthRuntime, type ContainerRuntime } from '../../node-agent/runtime';
import { RuncRuntime } from '../../node-agent/runtime/runc';
import {
  Builder, familiarReference, importBusybox, importRootfs, ImageStore, loadImages, parseReference, pullImage, pushImage, saveImages,
  type ArchiveFormat, type Credentials, type TransferProgress,
} from '../../node-agent/images';

interface ImageFlags {
  root?: string;
  username?: string;
  password?: string;
  caCert?: string;
  plainHttp?: boolean;
}

function storeOf(cmd: Command): ImageStore {
  const { root } = cmd.optsWithGlobals<ImageFlags>();
  return new ImageStore(root ? { root } : {});
}

function registryOptions(cmd: Command): { credentials?: Credentials; ca?: Buffer; scheme?: 'http' } {
  const f = cmd.optsWithGlobals<ImageFlags>();
  const username = f.username ?? process.env.BERTH_REGISTRY_USERNAME;
  const password = f.password ?? process.env.BERTH_REGISTRY_PASSWORD;
  return {
    ...(username !== undefined ? { credentials: { username, password: password ?? '' } } : {}),
    ...(f.caCert ? { ca: fs.readFileSync(f.caCert) } : {}),
    ...(f.plainHttp ? { scheme: 'http' as const } : {}),
  };
}

/** One line per blob, rewritten as it progresses when stdout is a terminal. */
function progressPrinter(): (p: TransferProgress) => void {
  const last = new Map<string, string>();
  return (p) => {
    const short = p.digest.slice(7, 19);
    const line = p.status === 'transferring' ? `${short}: ${p.status} ${Math.floor((100 * p.current) / Math.max(p.total, 1))}%` : `${short}: ${p.status}`;
    if (last.get(p.digest) === line || (p.status === 'transferring' && !process.stdout.isTTY)) return;
    last.set(p.digest, line);
    console.log(line);
  };
}

function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB'];
  let n = bytes;
  let u = 0;
  while (n >= 1000 && u < units.length - 1) {
    n /= 1000;
    u++;
  }
  return `${n < 10 && u > 0 ? n.toFixed(1) : Math.round(n)}${units[u]}`;
}

function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i])).join('   ').trimEnd());
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerImageCommands(program: Command): void {
  const image = program
    .command('image')
    .description('manage images in the node\'s image store')
    .option('--root <dir>', 'image store directory (default $BERTH_HOME/images)')
    .option('--username <name>', 'registry user (or $BERTH_REGISTRY_USERNAME)')
    .option('--password <password>', 'registry password (or $BERTH_REGISTRY_PASSWORD)')
    .option('--ca-cert <file>', 'PEM CA certificate to trust for the registry')
    .option('--plain-http', 'talk plain HTTP to the registry');

  image
    .command('build')
    .description('build an image from a Dockerfile')
    .argument('<context>', 'build context directory')
    .option('-t, --tag <name:tag>', 'name the image (repeatable)', collect, [])
    .option('-f, --file <Dockerfile>', 'Dockerfile (default CONTEXT/Dockerfile)')
    .option('--build-arg <key=value>', 'set a build argument (repeatable)', collect, [])
    .option('--target <stage>', 'build up to this stage')
    .option('--no-cache', 'do not use the layer cache')
    .option('--runtime <name>', 'container runtime for RUN: berth (default) or runc', 'berth')
    .option('-q, --quiet', 'print only the image digest')
    .action(async (context: string, o: { tag: string[]; file?: string; buildArg: string[]; target?: string; cache: boolean; runtime: string; quiet?: boolean }, cmd: Command) => {
      const runtime: ContainerRuntime = o.runtime === 'runc' ? new RuncRuntime() : new BerthRuntime();
      // `--build-arg KEY` without a value takes it from the environment, as docker does
      const buildArgs = Object.fromEntries(o.buildArg.map((a) => (a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, process.env[a] ?? ''])));
      const result = await new Builder({ store: storeOf(cmd), runtime }).build({
        contextDir: context, tags: o.tag, buildArgs, noCache: !o.cache, pull: registryOptions(cmd),
        ...(o.file ? { dockerfile: o.file } : {}), ...(o.target ? { target: o.target } : {}),
        ...(o.quiet ? {} : { onLog: (line: string) => console.log(line) }),
      });
      if (!o.quiet) console.log(`Successfully built ${result.digest} (${result.cacheHits} cached, ${result.layersBuilt} built)`);
      else console.log(result.digest);
    });

  image
    .command('pull')
    .argument('<ref>')
    .option('--platform <os/arch>', 'platform to select from an index (default: this machine)')
    .action(async (ref: string, o: { platform?: string }, cmd: Command) => {
      const [os, architecture] = (o.platform ?? '').split('/');
      const result = await pullImage(storeOf(cmd), ref, {
        ...registryOptions(cmd), onProgress: progressPrinter(), ...(o.platform ? { platform: { os, architecture } } : {}),
      });
      console.log(`Digest: ${result.digest}\n${result.reference}`);
    });

  image
    .command('push')
    .argument('<ref>', 'local image')
    .argument('[target]', 'destination reference (default: the local name)')
    .action(async (ref: string, target: string | undefined, _o: unknown, cmd: Command) => {
      const r = await pushImage(storeOf(cmd), ref, target, { ...registryOptions(cmd), onProgress: progressPrinter() });
      console.log(`${target ?? ref}: digest: ${r.digest} (${r.uploaded.length} uploaded, ${r.mounted.length} mounted, ${r.existing.length} already present)`);
    });

  image
    .command('ls')
    .alias('list')
    .option('--digests', 'show manifest digests')
    .option('-a, --all', 'include build-cache images')
    .action((o: { digests?: boolean; all?: boolean }, cmd: Command) => {
      const rows = [['REPOSITORY', 'TAG', ...(o.digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE']];
      for (const img of storeOf(cmd).list().filter((i) => o.all || !i.buildCache)) {
        const names = img.tags.length ? img.tags.map((t) => parseReference(t)) : [undefined];
        for (const n of names) {
          const repo = n ? familiarReference({ registry: n.registry, repository: n.repository }) : '<none>';
          rows.push([repo, n?.tag ?? '<none>', ...(o.digests ? [img.digest] : []), img.configDigest.slice(7, 19), img.created, humanSize(img.size)]);
        }
      }
      printTable(rows);
    });

  image
    .command('inspect')
    .argument('<ref...>')
    .action((refs: string[], _o: unknown, cmd: Command) => {
      const store = storeOf(cmd);
      console.log(JSON.stringify(refs.map((r) => store.inspect(r)), null, 2));
    });

  image
    .command('history')
    .argument('<ref>')
    .action((ref: string, _o: unknown, cmd: Command) => {
      const { config } = storeOf(cmd).inspect(ref);
      const rows = [['CREATED', 'CREATED BY', 'LAYER']];
      for (const h of [...(config.history ?? [])].reverse()) rows.push([h.created ?? '', (h.created_by ?? '').slice(0, 80), h.empty_layer ? '-' : 'yes']);
      printTable(rows);
    });

  image
    .command('tag')
    .argument('<source>')
    .argument('<target>')
    .action((source: string, target: string, _o: unknown, cmd: Command) => {
      const store = storeOf(cmd);
      store.tag(target, store.resolve(source));
    });

  image
    .command('rm')
    .alias('remove')
    .argument('<ref...>')
    .option('-f, --force', 'remove even if a container uses it')
    .action((refs: string[], o: { force?: boolean }, cmd: Command) => {
      const store = storeOf(cmd);
      for (const ref of refs) {
        const r = store.remove(ref, o.force === true);
        for (const t of r.untagged) console.log(`Untagged: ${t}`);
        if (r.deleted) console.log(`Deleted: ${r.deleted}`);
      }
    });

  image
    .command('prune')
    .option('-a, --all', 'also remove the build cache')
    .action(async (o: { all?: boolean }, cmd: Command) => {
      const r = await storeOf(cmd).prune(o.all === true);
      for (const d of r.deleted) console.log(`Deleted: ${d}`);
      console.log(`Reclaimed ${humanSize(r.bytesFreed)} (${r.blobsRemoved} blobs, ${r.layersRemoved} unpacked layers)`);
    });

  image
    .command('save')
    .argument('<ref...>')
    .requiredOption('-o, --output <path>', 'tar file (or directory with --dir)')
    .option('--format <format>', 'docker (docker save archive) or oci (OCI image layout)', 'docker')
    .option('--dir', 'write a directory instead of a tar file')
    .action(async (refs: string[], o: { output: string; format: string; dir?: boolean }, cmd: Command) => {
      if (o.format !== 'docker' && o.format !== 'oci') throw new Error(`--format ${o.format}: docker or oci`);
      await saveImages(storeOf(cmd), refs, o.output, o.format as ArchiveFormat, o.dir === true);
    });

  image
    .command('load')
    .requiredOption('-i, --input <path>', 'docker archive or OCI layout (tar file or directory)')
    .option('--repository <name>', 'name for OCI layout entries that carry only a tag')
    .action(async (o: { input: string; repository?: string }, cmd: Command) => {
      for (const img of await loadImages(storeOf(cmd), o.input, o.repository ? { repository: o.repository } : {})) {
        console.log(img.tags.length ? img.tags.map((t) => `Loaded image: ${t}`).join('\n') : `Loaded image ID: ${img.digest}`);
      }
    });

  image
    .command('import')
    .description('create an image from a rootfs tarball, or the busybox base image from busybox-static')
    .argument('[file]', 'rootfs tarball (plain or gzip)')
    .argument('[ref]', 'name for the image')
    .option('--busybox', 'assemble busybox:latest from /bin/busybox (Debian busybox-static)')
    .action(async (file: string | undefined, ref: string | undefined, o: { busybox?: boolean }, cmd: Command) => {
      const store = storeOf(cmd);
      if (o.busybox) console.log(await importBusybox(store, file ?? 'busybox:latest'));
      else if (file) console.log(await importRootfs(store, file, ref));
      else throw new Error('import needs a rootfs tarball, or --busybox');
    });
}
