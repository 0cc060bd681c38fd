/**
 * Compiled seccomp programs on disk, content-addressed by (profile, capabilities). Compiling Docker's profile
 * through libseccomp costs ~100 ms in a fresh process: with the cache, `berth runtime run` and a restarted agent
 * pay it once per profile, and no container writes its own copy.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compileSeccomp } from '../seccomp';
import type { LinuxSeccomp } from '../spec';

/** Root-only: a program in here is trusted as the filter of every container that names the same profile. */
export const DEFAULT_SECCOMP_CACHE = '/run/berth/seccomp';

/** The path of the raw sock_filter[] program for `profile` resolved against `caps`, compiling it if needed. */
export function seccompProgramFile(cacheDir: string, profile: LinuxSeccomp, caps: readonly string[]): string {
  const key = crypto.createHash('sha256').update(JSON.stringify([profile, [...caps].sort()])).digest('hex');
  const file = path.join(cacheDir, `${key}.bpf`);
  if (fs.existsSync(file)) return file;
  const bpf = compileSeccomp(profile, caps);
  fs.mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  // Written whole, then renamed: a concurrent create never reads half a program.
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
  fs.writeFileSync(tmp, bpf, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return file;
}
