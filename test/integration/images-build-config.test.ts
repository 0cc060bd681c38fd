import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { importBusybox } from '../../node-agent/images/busybox';
import { Builder } from '../../node-agent/images/build/executor';
import { ImageStore } from '../../node-agent/images/store';
import { RuncRuntime } from '../../node-agent/runtime/runc';

/** Builds without RUN: only the config and COPY/ADD layers (the runtime is never asked to run anything). */
describe('Dockerfile instruction semantics', () => {
  let work: string;
  let store: ImageStore;
  let builder: Builder;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-buildcfg-'));
    store = new ImageStore({ root: path.join(work, 'store') });
    builder = new Builder({ store, runtime: new RuncRuntime(path.join(work, 'runc'), path.join(work, 'shadow')) });
    await importBusybox(store);
  });

  afterAll(() => {
    fs.rmSync(work, { recursive: true, force: true });
    expect(fs.existsSync(work)).toBe(false);
  });

  async function build(dockerfile: string, files: Record<string, string | Buffer> = {}, buildArgs: Record<string, string> = {}) {
    const ctx = fs.mkdtempSync(path.join(work, 'ctx-'));
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), dockerfile);
    for (const [name, body] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(ctx, name)), { recursive: true });
      fs.writeFileSync(path.join(ctx, name), body);
    }
    const result = await builder.build({ contextDir: ctx, buildArgs });
    return { ...result, ctx, config: store.getConfig(result.digest), manifest: store.getManifest(result.digest) };
  }

  it.each([
    ['shell-form ENTRYPOINT resets the inherited CMD', 'FROM busybox\nENTRYPOINT echo hi\n', { Entrypoint: ['/bin/sh', '-c', 'echo hi'], Cmd: null }],
    ['a CMD of this stage survives ENTRYPOINT', 'FROM busybox\nCMD ["a"]\nENTRYPOINT ["b"]\n', { Entrypoint: ['b'], Cmd: ['a'] }],
    ['SHELL changes the shell form', 'FROM busybox\nSHELL ["/bin/ash", "-eo"]\nCMD echo x\n', { Cmd: ['/bin/ash', '-eo', 'echo x'], Shell: ['/bin/ash', '-eo'] }],
    ['HEALTHCHECK NONE', 'FROM busybox\nHEALTHCHECK NONE\n', { Healthcheck: { Test: ['NONE'] } }],
    ['exec-form HEALTHCHECK with timings', 'FROM busybox\nHEALTHCHECK --timeout=1m30s --start-period=500ms CMD ["true"]\n',
      { Healthcheck: { Test: ['CMD', 'true'], Timeout: 90e9, StartPeriod: 5e8 } }],
    ['STOPSIGNAL, VOLUME and EXPOSE ranges of protocols', 'FROM busybox\nSTOPSIGNAL SIGINT\nVOLUME /data\nEXPOSE 53/udp 80\n',
      { StopSignal: 'SIGINT', Volumes: { '/data': {} }, ExposedPorts: { '53/udp': {}, '80/tcp': {} } }],
  ])('%s', async (_name, dockerfile, expected) => {
    const { config, manifest } = await build(dockerfile);
    expect(config.config).toMatchObject(expected);
    expect(manifest.layers).toHaveLength(1); // busybox's only: metadata adds none
  });

  it('expands ARG (with --build-arg overrides) and ENV into WORKDIR, LABEL, ENV and COPY', async () => {
    const { config } = await build(
      'FROM busybox\nARG DIR=/opt\nARG WHO\nENV BASE=$DIR/app\nWORKDIR $BASE\nWORKDIR sub\nLABEL who="$WHO" dir=${DIR:-none}\nENV A=1 B="two words"\nENV A=3\n',
      {}, { WHO: 'me' });
    expect(config.config?.WorkingDir).toBe('/opt/app/sub');
    expect(config.config?.Labels).toEqual({ who: 'me', dir: '/opt' });
    expect(config.config?.Env).toEqual(expect.arrayContaining(['BASE=/opt/app', 'A=3', 'B=two words']));
    expect(config.config?.Env?.filter((e) => e.startsWith('A='))).toHaveLength(1);
  });

  it('builds FROM scratch with COPY and ADD (a local tar archive is unpacked), one layer each', async () => {
    const ctx = fs.mkdtempSync(path.join(work, 'src-'));
    fs.mkdirSync(path.join(ctx, 'tree/inner'), { recursive: true });
    fs.writeFileSync(path.join(ctx, 'tree/inner/f.txt'), 'in the archive\n');
    const archive = path.join(work, 'tree.tar.gz');
    execFileSync('tar', ['czf', archive, '-C', path.join(ctx, 'tree'), '.']);
    const files = { 'plain.txt': 'plain\n', 'tree.tar.gz': fs.readFileSync(archive) };
    const { manifest, config, digest } = await build('FROM scratch\nCOPY plain.txt /etc/\nADD tree.tar.gz /unpacked/\nADD plain.txt /copied.txt\nCMD ["/x"]\n', files);
    expect(manifest.layers).toHaveLength(3);
    expect(config.rootfs.diff_ids).toHaveLength(3);
    expect(config.config?.Cmd).toEqual(['/x']);
    const lowers = await store.ensureUnpacked(digest);
    expect(fs.readFileSync(path.join(lowers[0], 'etc/plain.txt'), 'utf8')).toBe('plain\n');
    expect(fs.readFileSync(path.join(lowers[1], 'unpacked/inner/f.txt'), 'utf8')).toBe('in the archive\n');
    expect(fs.readFileSync(path.join(lowers[2], 'copied.txt'), 'utf8')).toBe('plain\n');
  });
});
