import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ContainerRuntime, ExitStatus } from '../../node-agent/runtime/types';
import { RuncRuntime } from '../../node-agent/runtime/runc';
import { BerthRuntime } from '../../node-agent/runtime';
import { defaultSpec } from '../../node-agent/runtime/spec';
import { importBusybox } from '../../node-agent/images/busybox';
import { Builder, BuildStepError } from '../../node-agent/images/build/executor';
import { DockerfileSyntaxError } from '../../node-agent/images/build/parser';
import { pullImage } from '../../node-agent/images/registry/pull';
import { pushImage } from '../../node-agent/images/registry/push';
import { ImageStore } from '../../node-agent/images/store';
import { startRegistry } from '../helpers/registry';

const DOCKERFILE = `# a two-stage build
ARG BASE=busybox
FROM \${BASE} AS build
ARG GREETING=hello
ENV NAME=world
WORKDIR /work
RUN echo base > /base.txt
COPY app/ ./app/
COPY . /ctx/
RUN echo "$GREETING $NAME" > greeting.txt && \\
    cat app/a.txt >> greeting.txt && rm /bin/vi
RUN ["/bin/sh", "-c", "id -u > uid.txt"]

FROM busybox
LABEL org.example.k=v
EXPOSE 8080
COPY --from=build --chown=nobody /work/greeting.txt /srv/
COPY --from=build /work/uid.txt /srv/uid.txt
USER nobody
RUN id -u > /tmp/uid && id -g >> /tmp/uid
USER 65534:65534
ENTRYPOINT ["cat"]
CMD ["/srv/greeting.txt"]
HEALTHCHECK --interval=5s --retries=2 CMD cat /srv/greeting.txt
`;

/** Runs `args` in a container on the image's rootfs through the runtime; returns stdout. */
async function runInImage(store: ImageStore, runtime: ContainerRuntime, digest: string, args: string[], work: string): Promise<string> {
  const id = `berth-imgtest-${Math.random().toString(16).slice(2, 10)}`;
  const bundle = fs.mkdtempSync(path.join(work, 'bundle-'));
  try {
    const rootfs = await store.prepareRootfs(digest, id);
    fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(defaultSpec({ rootfs, args })));
    const out = path.join(bundle, 'out');
    const status = (await runtime.run(id, bundle, { stdio: { stdout: out, stderr: out } })) as ExitStatus;
    expect(status.exitCode).toBe(0);
    return fs.readFileSync(out, 'utf8');
  } finally {
    await store.releaseRootfs(id);
  }
}

describe('Dockerfile builds (real containers for RUN)', () => {
  let work: string;
  let store: ImageStore;
  // RUN goes through the ContainerRuntime interface; the runc backend keeps these tests independent of native/ builds
  let runtime: ContainerRuntime;
  let builder: Builder;
  let context: string;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-build-'));
    store = new ImageStore({ root: path.join(work, 'store') });
    runtime = new RuncRuntime(path.join(work, 'runc-state'), path.join(work, 'runc-shadow'));
    builder = new Builder({ store, runtime });
    await importBusybox(store);
    context = path.join(work, 'ctx');
    fs.mkdirSync(path.join(context, 'app'), { recursive: true });
    fs.writeFileSync(path.join(context, 'app/a.txt'), 'from a\n');
    fs.writeFileSync(path.join(context, 'secret.txt'), 'do not send');
    fs.writeFileSync(path.join(context, '.dockerignore'), 'secret*\n*.log\n');
    fs.writeFileSync(path.join(context, 'build.log'), 'ignored');
    fs.writeFileSync(path.join(context, 'Dockerfile'), DOCKERFILE);
  });

  afterAll(async () => {
    expect(store.containerImages().size).toBe(0);
    expect(fs.readdirSync(store.blobs.tmpDir)).toEqual([]);
    fs.rmSync(work, { recursive: true, force: true });
    expect(fs.existsSync(work)).toBe(false);
  });

  it('builds a multi-stage image: metadata without layers, COPY --from/--chown, RUN in a container, whiteouts', async () => {
    const logs: string[] = [];
    const result = await builder.build({ contextDir: context, tags: ['built:1'], onLog: (l) => logs.push(l) });
    expect(store.resolve('built:1')).toBe(result.digest);
    const config = store.getConfig(result.digest);
    const busyboxLayers = store.getManifest(store.resolve('busybox')).layers.length;
    expect(store.getManifest(result.digest).layers).toHaveLength(busyboxLayers + 3);
    expect(config.config).toMatchObject({
      Entrypoint: ['cat'], Cmd: ['/srv/greeting.txt'], User: '65534:65534', Labels: { 'org.example.k': 'v' },
      ExposedPorts: { '8080/tcp': {} }, Healthcheck: { Test: ['CMD-SHELL', 'cat /srv/greeting.txt'], Interval: 5e9, Retries: 2 },
    });
    expect(config.history?.filter((h) => h.empty_layer).length).toBe(7);
    expect(logs).toContain('Step 9/21 : RUN echo "$GREETING $NAME" > greeting.txt &&     cat app/a.txt >> greeting.txt && rm /bin/vi');

    const out = await runInImage(store, runtime, result.digest, ['cat', '/srv/greeting.txt', '/srv/uid.txt', '/tmp/uid'], work);
    expect(out).toBe('hello world\nfrom a\n0\n65534\n65534\n');
    const rootfs = await store.prepareRootfs(result.digest, 'berth-inspect-final');
    expect(fs.statSync(path.join(rootfs, 'srv/greeting.txt')).uid).toBe(65534);
    await store.releaseRootfs('berth-inspect-final');

    const stage = await builder.build({ contextDir: context, target: 'build', buildArgs: { GREETING: 'hi' } });
    const stageRoot = await store.prepareRootfs(stage.digest, 'berth-inspect-stage');
    try {
      expect(fs.existsSync(path.join(stageRoot, 'bin/vi'))).toBe(false);
      expect(fs.existsSync(path.join(stageRoot, 'bin/ls'))).toBe(true);
      expect(fs.readFileSync(path.join(stageRoot, 'work/greeting.txt'), 'utf8')).toBe('hi world\nfrom a\n');
      expect(fs.readdirSync(path.join(stageRoot, 'ctx')).sort()).toEqual(['.dockerignore', 'Dockerfile', 'app']);
    } finally {
      await store.releaseRootfs('berth-inspect-stage');
    }
  });

  it('rebuilds an unchanged Dockerfile from cache, and a changed COPY only from there on', async () => {
    const first = await builder.build({ contextDir: context, tags: ['built:1'] });
    const started = Date.now();
    const again = await builder.build({ contextDir: context, tags: ['built:1'] });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(again.digest).toBe(first.digest);
    expect(again.layersBuilt).toBe(0);
    expect(again.cacheHits).toBe(8);

    fs.writeFileSync(path.join(context, 'app/a.txt'), 'changed\n');
    const changed = await builder.build({ contextDir: context, tags: ['built:2'] });
    expect(changed.cacheHits).toBe(1); // RUN echo base: the only step before the changed COPY
    expect(changed.layersBuilt).toBe(7);
    expect(await runInImage(store, runtime, changed.digest, ['cat', '/srv/greeting.txt'], work)).toBe('hello world\nchanged\n');
    fs.writeFileSync(path.join(context, 'app/a.txt'), 'from a\n');
  });

  it('round-trips build → push → rm → pull → run through a real registry', async () => {
    const registry = await startRegistry();
    try {
      const ref = `${registry.host}/berth/roundtrip:1`;
      const built = await builder.build({ contextDir: context, tags: [ref] });
      const pushed = await pushImage(store, ref);
      expect(pushed.digest).toBe(built.digest);
      const ownLayers = store.getManifest(built.digest).layers.slice(1).map((l) => l.digest);
      store.remove(ref);
      // The earlier test's images share layers with this one (same context, same cache): remove them too.
      store.remove('built:1');
      store.remove('built:2');
      await store.prune(true);
      expect(() => store.resolve(ref)).toThrow('not found');
      for (const d of ownLayers) expect(store.blobs.has(d)).toBe(false);
      const pulled = await pullImage(store, ref);
      expect(pulled.digest).toBe(built.digest);
      // run it with Berth's own runtime (the builder's RUN steps went through runc)
      const berth = new BerthRuntime({ root: path.join(work, 'berth-runtime') });
      expect(await runInImage(store, berth, pulled.digest, ['cat', '/srv/greeting.txt'], work)).toBe('hello world\nfrom a\n');

      // a FROM image missing from the store is pulled
      const fresh = new ImageStore({ root: path.join(work, 'fresh-store') });
      const child = path.join(work, 'child');
      fs.mkdirSync(child);
      fs.writeFileSync(path.join(child, 'Dockerfile'), `FROM ${ref}\nCMD ["/srv/uid.txt"]\n`);
      const derived = await new Builder({ store: fresh, runtime }).build({ contextDir: child });
      expect(fresh.resolve(ref)).toBe(built.digest);
      expect(fresh.getConfig(derived.digest).config?.Cmd).toEqual(['/srv/uid.txt']);
    } finally {
      await registry.stop();
    }
  });

  it('reports Dockerfile syntax errors with their line and failing RUN steps, leaving the store as it was', async () => {
    const bad = path.join(work, 'bad');
    fs.mkdirSync(bad);
    const snapshot = () => [...store.blobs.list(), JSON.stringify(store.meta.read())].sort();
    fs.writeFileSync(path.join(bad, 'Dockerfile'), 'FROM nothere:1\n');
    await expect(builder.build({ contextDir: bad, pull: false })).rejects.toThrow(/line 1: FROM: image "nothere:1" not found/);
    const before = snapshot();
    fs.writeFileSync(path.join(bad, 'Dockerfile'), 'FROM busybox\nRUN true\nCOPY onlyone\n');
    await expect(builder.build({ contextDir: bad })).rejects.toThrow(DockerfileSyntaxError);
    await expect(builder.build({ contextDir: bad })).rejects.toThrow('Dockerfile line 3');
    fs.writeFileSync(path.join(bad, 'Dockerfile'), 'FROM busybox\nRUN echo oops >&2; exit 3\n');
    await expect(builder.build({ contextDir: bad })).rejects.toThrow(BuildStepError);
    await expect(builder.build({ contextDir: bad })).rejects.toThrow(/line 2: RUN .* exited with code 3: oops/);
    expect(snapshot()).toEqual(before);
    expect(store.containerImages().size).toBe(0);
  });
});
