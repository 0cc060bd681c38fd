/**
 * runc reads config.json from the bundle directory, and Berth must put every container's cgroup
 * below the `berth` parent whatever the bundle says. Rather than edit the caller's bundle, the runc
 * backend hands runc a shadow bundle: a config.json with `linux.cgroupsPath` set and every path made
 * absolute against the original bundle.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cgroupRelativePath } from '../cgroups';
import { loadBundle, type RuntimeSpec } from '../spec';

export interface ShadowBundle {
  readonly dir: string;
  readonly spec: RuntimeSpec;
}

const ORIGIN_FILE = 'origin';

export function writeShadowBundle(shadowDir: string, id: string, bundle: string): ShadowBundle {
  const origin = path.resolve(bundle);
  const spec = loadBundle(origin);
  const mounts = spec.mounts?.map((m) =>
    m.source && !path.isAbsolute(m.source) && (m.type === 'bind' || m.options?.some((o) => o === 'bind' || o === 'rbind'))
      ? { ...m, source: path.resolve(origin, m.source) }
      : m,
  );
  const shadow: RuntimeSpec = {
    ...spec,
    mounts,
    linux: { ...spec.linux, cgroupsPath: `/${cgroupRelativePath(id, spec.linux?.cgroupsPath)}` },
  };
  fs.mkdirSync(shadowDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(shadowDir, 'config.json'), JSON.stringify(shadow));
  fs.writeFileSync(path.join(shadowDir, ORIGIN_FILE), origin);
  return { dir: shadowDir, spec: shadow };
}

/** The caller's bundle path for a shadow bundle (runc reports the shadow's). */
export function originalBundle(shadowDir: string): string | undefined {
  try {
    return fs.readFileSync(path.join(shadowDir, ORIGIN_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
