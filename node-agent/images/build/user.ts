/** Resolving `USER`/`--chown` specs (`name[:group]`, `uid[:gid]`) against an image's /etc/passwd and /etc/group. */
import * as fs from 'fs';
import * as path from 'path';

export interface Ids {
  readonly uid: number;
  readonly gid: number;
}

function lookup(file: string | undefined, name: string): string[] | undefined {
  if (!file || !fs.existsSync(file)) return undefined;
  return fs.readFileSync(file, 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[0] === name);
}

/**
 * `spec` as Docker reads it. `etcDirs`: candidate `etc` directories, top-most first (a mounted
 * rootfs's etc, or unpacked layers' etc dirs); the first holding the file answers.
 */
export function resolveIds(spec: string, etcDirs: readonly string[]): Ids {
  const find = (file: string) => etcDirs.map((d) => path.join(d, file)).find((f) => fs.existsSync(f));
  const [user, group] = spec.split(':', 2);
  let uid: number;
  let gid: number;
  if (/^\d+$/.test(user)) {
    uid = Number(user);
    const entry = fs.readFileSync(find('passwd') ?? '/dev/null', 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[2] === user);
    gid = entry ? Number(entry[3]) : uid === 0 ? 0 : uid;
  } else {
    const entry = lookup(find('passwd'), user);
    if (!entry) throw new Error(`unable to find user ${user}: no matching entries in passwd file`);
    uid = Number(entry[2]);
    gid = Number(entry[3]);
  }
  if (group !== undefined) {
    if (/^\d+$/.test(group)) gid = Number(group);
    else {
      const entry = lookup(find('group'), group);
      if (!entry) throw new Error(`unable to find group ${group}: no matching entries in group file`);
      gid = Number(entry[2]);
    }
  }
  return { uid, gid };
}
