/**
 * Test (and benchmark) fixtures for containers: a busybox rootfs (scripts/make-rootfs.js), an OCI
 * bundle around it with a config.json from `defaultSpec`, and static probe programs compiled at
 * test time with `gcc -static` into a rootfs (never committed).
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultSpec, type DefaultSpecOptions, type RuntimeSpec } from '../../node-agent/runtime/spec';

/** The repository root, found from here whether running from the sources (ts-jest) or from dist/. */
function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'scripts', 'make-rootfs.js'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`scripts/make-rootfs.js not found above ${__dirname}`);
    dir = up;
  }
  return dir;
}

const { makeRootfs: buildRootfs } = require(path.join(repoRoot(), 'scripts', 'make-rootfs.js')) as {
  makeRootfs(dir: string): string;
};

/** Assemble a busybox rootfs into `dir`. */
export function makeRootfs(dir: string): string {
  return buildRootfs(dir);
}

/** A unique container id with Berth's prefix, safe to run beside other tests. */
export function uniqueId(label = 'test'): string {
  return `berth-${label}-${crypto.randomBytes(4).toString('hex')}`;
}

export interface Bundle {
  /** The bundle directory (holds config.json and rootfs/). */
  readonly dir: string;
  readonly rootfs: string;
  readonly configPath: string;
  /** The config last written. */
  spec: RuntimeSpec;
  /** Rewrites config.json (after editing `spec`, or with a new one). */
  write(spec?: RuntimeSpec): void;
  /** Removes the bundle directory. */
  cleanup(): void;
}

/** A bundle in a fresh temp dir: busybox rootfs + config.json from `defaultSpec(opts)`. */
export function makeBundle(opts: DefaultSpecOptions = {}): Bundle {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bundle-'));
  const rootfs = makeRootfs(path.join(dir, 'rootfs'));
  const configPath = path.join(dir, 'config.json');
  const bundle: Bundle = {
    dir,
    rootfs,
    configPath,
    spec: defaultSpec({ rootfs: 'rootfs', ...opts }),
    write(spec?: RuntimeSpec) {
      if (spec) bundle.spec = spec;
      fs.writeFileSync(configPath, JSON.stringify(bundle.spec, null, 2));
    },
    cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  bundle.write();
  return bundle;
}

/**
 * Compile C `source` with `gcc -static` to `<rootfs>/<name>` (e.g. `probe/keyctl`) and return the
 * path inside the container (`/probe/keyctl`). Built on the fly for raw syscalls busybox lacks.
 */
export function compileStaticProbe(rootfs: string, name: string, source: string): string {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-probe-src-'));
  try {
    const src = path.join(work, 'probe.c');
    fs.writeFileSync(src, source);
    const out = path.join(rootfs, name);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    execFileSync('gcc', ['-static', '-O1', '-Wall', '-o', out, src], { stdio: 'pipe' });
    return path.join('/', name);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
