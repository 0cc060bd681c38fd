/**
 * `npm run bench:images`: against one local docker-registry and one ~100 MB image of random
 * (incompressible) files in several layers — Berth pull vs `skopeo copy docker://… oci:…`,
 * Berth unpack vs `umoci unpack`, and an unchanged rebuild of a 10-instruction Dockerfile.
 * Medians of a few runs; the last line printed is one JSON object.
 */
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import * as tar from 'tar-stream';
import { Builder, importBusybox, ImageStore, pullImage, pushImage } from '../node-agent/images';
import { composeImage, storeLayer } from '../node-agent/images/compose';
import { RuncRuntime } from '../node-agent/runtime/runc';
import { BerthRuntime } from '../node-agent/runtime';
import { startRegistry } from '../test/helpers/registry';
import { median } from './stats';

const LAYERS = 5;
const FILES_PER_LAYER = 4;
const FILE_SIZE = 5 * 1024 * 1024;
const RUNS = Number(process.env.BERTH_BENCH_RUNS ?? 3);

async function timed(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

async function bigImage(store: ImageStore): Promise<string> {
  const layers = [];
  for (let l = 0; l < LAYERS; l++) {
    const pack = tar.pack();
    pack.entry({ name: `layer${l}/`, type: 'directory', mode: 0o755 });
    for (let f = 0; f < FILES_PER_LAYER; f++) pack.entry({ name: `layer${l}/file${f}.bin`, mode: 0o644 }, randomBytes(FILE_SIZE));
    pack.finalize();
    layers.push(await storeLayer(store, pack as unknown as Readable));
  }
  const digest = await composeImage(store, { layers });
  store.addImage(digest);
  return digest;
}

const DOCKERFILE = `FROM busybox
ARG VERSION=1
ENV APP_HOME=/app VERSION=$VERSION
WORKDIR /app
COPY src/ ./src/
RUN cat src/* > all.txt
LABEL org.example.version=$VERSION
EXPOSE 8080
USER 65534
CMD ["cat", "/app/all.txt"]
`;

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-images-'));
  const registry = await startRegistry();
  try {
    const source = new ImageStore({ root: path.join(work, 'source') });
    const digest = await bigImage(source);
    const ref = `${registry.host}/bench/big:1`;
    source.tag(ref, digest);
    await pushImage(source, ref);
    const imageBytes = source.getManifest(digest).layers.reduce((n, l) => n + l.size, 0);

    const berthPull: number[] = [];
    const skopeoPull: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const store = new ImageStore({ root: path.join(work, `pull-${i}`) });
      berthPull.push(await timed(() => pullImage(store, ref)));
      const dir = path.join(work, `skopeo-${i}`);
      skopeoPull.push(await timed(() => execFileSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci:${dir}:big`])));
    }

    const berthUnpack: number[] = [];
    const umociUnpack: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const store = new ImageStore({ root: path.join(work, `pull-${i}`) });
      berthUnpack.push(await timed(() => store.ensureUnpacked(digest)));
      const bundle = path.join(work, `umoci-${i}`);
      umociUnpack.push(await timed(() => execFileSync('umoci', ['unpack', '--image', `${path.join(work, `skopeo-${i}`)}:big`, bundle])));
      fs.rmSync(bundle, { recursive: true, force: true });
    }

    const store = new ImageStore({ root: path.join(work, 'build') });
    await importBusybox(store);
    const context = path.join(work, 'ctx');
    fs.mkdirSync(path.join(context, 'src'), { recursive: true });
    for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(context, 'src', `f${i}.txt`), `file ${i}\n`);
    fs.writeFileSync(path.join(context, 'Dockerfile'), DOCKERFILE);
    const runtime = process.env.BERTH_BENCH_RUNTIME === 'berth' ? new BerthRuntime({ root: path.join(work, 'rt') }) : new RuncRuntime(path.join(work, 'runc'), path.join(work, 'runc-shadow'));
    const builder = new Builder({ store, runtime });
    const firstBuild = await timed(() => builder.build({ contextDir: context, tags: ['bench:1'] }));
    const rebuilds: number[] = [];
    let hits = 0;
    for (let i = 0; i < RUNS; i++) {
      rebuilds.push(await timed(async () => {
        hits = (await builder.build({ contextDir: context, tags: ['bench:1'] })).cacheHits;
      }));
    }

    const r = {
      imageMB: Math.round(imageBytes / 1e5) / 10,
      layers: LAYERS,
      berthPullMs: Math.round(median(berthPull)),
      skopeoPullMs: Math.round(median(skopeoPull)),
      pullRatio: Math.round((median(berthPull) / median(skopeoPull)) * 100) / 100,
      berthUnpackMs: Math.round(median(berthUnpack)),
      umociUnpackMs: Math.round(median(umociUnpack)),
      unpackRatio: Math.round((median(berthUnpack) / median(umociUnpack)) * 100) / 100,
      firstBuildMs: Math.round(firstBuild),
      unchangedRebuildMs: Math.round(median(rebuilds)),
      rebuildCacheHits: hits,
      runtime: runtime.name,
    };
    console.log(`image: ${r.imageMB} MB in ${LAYERS} layers; median of ${RUNS} runs`);
    console.log(`pull:    berth ${r.berthPullMs} ms   skopeo copy ${r.skopeoPullMs} ms   ratio ${r.pullRatio}x (target <= 1.0)`);
    console.log(`unpack:  berth ${r.berthUnpackMs} ms   umoci unpack ${r.umociUnpackMs} ms   ratio ${r.unpackRatio}x (target <= 1.0)`);
    console.log(`build:   first ${r.firstBuildMs} ms   unchanged rebuild ${r.unchangedRebuildMs} ms (${hits} cache hits; target < 1000 ms)`);
    console.log(JSON.stringify(r));
  } finally {
    await registry.stop();
    for (const dir of fs.readdirSync(work)) {
      const store = path.join(work, dir);
      if (fs.existsSync(path.join(store, 'containers'))) for (const id of fs.readdirSync(path.join(store, 'containers'))) await new ImageStore({ root: store }).releaseRootfs(id);
    }
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
