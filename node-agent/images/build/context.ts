/**
 * The build context: `.dockerignore` matching (Docker's rules: globs with `**`, `!` exceptions,
 * the last matching pattern wins, a matched directory excludes its contents) and resolving
 * COPY/ADD source patterns to files without leaving the context.
 */
import * as fs from 'fs';
import * as path from 'path';
import { safeEntryPath } from '../unpack';

function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') {
      // `**/` matches any number of directories, a trailing `**` anything
      re += pattern[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += pattern[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += '[' + pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\') + ']';
        i = end;
      }
    } else if (c === '\\' && i + 1 < pattern.length) re += '\\' + pattern[++i];
    else re += c.replace(/[.+^${}()|\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export class DockerIgnore {
  private readonly rules: Array<{ re: RegExp; exception: boolean }>;

  constructor(patterns: readonly string[]) {
    this.rules = patterns
      .map((p) => p.trim())
      .filter((p) => p !== '' && !p.startsWith('#'))
      .map((p) => {
        const exception = p.startsWith('!');
        const body = path.posix.normalize((exception ? p.slice(1) : p).trim()).replace(/^\/+/, '').replace(/\/+$/, '');
        return { re: globToRegExp(body), exception };
      });
  }

  static load(contextDir: string): DockerIgnore {
    const file = path.join(contextDir, '.dockerignore');
    return new DockerIgnore(fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n') : []);
  }

  /** True if `rel` (relative to the context, POSIX separators) is left out of the context. */
  excludes(rel: string): boolean {
    if (rel === '') return false;
    const parts = rel.split('/');
    let excluded = false;
    for (const rule of this.rules) {
      // a pattern matching a parent directory matches everything below it
      const matched = parts.some((_p, i) => rule.re.test(parts.slice(0, i + 1).join('/')));
      if (matched) excluded = !rule.exception;
    }
    return excluded;
  }
}

/** Resolves one source pattern (globs allowed per component) to paths relative to `root`; throws if none match. */
export function matchSources(root: string, pattern: string, ignore?: DockerIgnore): string[] {
  const clean = safeEntryPath(path.posix.normalize(pattern).replace(/^\/+/, ''), pattern);
  if (!/[*?[]/.test(clean)) {
    if (clean !== '' && (ignore?.excludes(clean) || !fs.existsSync(path.join(root, clean)))) {
      throw new Error(`COPY source "${pattern}" not found in the build context${ignore?.excludes(clean) ? ' (excluded by .dockerignore)' : ''}`);
    }
    return [clean];
  }
  let candidates = [''];
  for (const component of clean.split('/')) {
    const re = globToRegExp(component);
    const next: string[] = [];
    for (const dir of candidates) {
      const abs = path.join(root, dir);
      if (!fs.statSync(abs, { throwIfNoEntry: false })?.isDirectory()) continue;
      for (const name of fs.readdirSync(abs).sort()) {
        const rel = dir === '' ? name : `${dir}/${name}`;
        if (re.test(name) && !ignore?.excludes(rel)) next.push(rel);
      }
    }
    candidates = next;
  }
  if (candidates.length === 0) throw new Error(`COPY source "${pattern}" matched no files in the build context`);
  return candidates;
}

export interface ContextEntry {
  /** Absolute path on the host. */
  readonly abs: string;
  /** Path relative to the copied source (''= the source itself). */
  readonly rel: string;
  readonly stat: fs.Stats;
}

/** The source and everything below it (lstat: symlinks are entries, not followed), minus ignored paths. */
export function walkSource(root: string, rel: string, ignore?: DockerIgnore): ContextEntry[] {
  const out: ContextEntry[] = [];
  const visit = (relFromRoot: string, relFromSource: string) => {
    if (relFromRoot !== '' && ignore?.excludes(relFromRoot)) return;
    const abs = path.join(root, relFromRoot);
    const stat = fs.lstatSync(abs);
    out.push({ abs, rel: relFromSource, stat });
    if (!stat.isDirectory()) return;
    for (const name of fs.readdirSync(abs).sort()) {
      visit(relFromRoot === '' ? name : `${relFromRoot}/${name}`, relFromSource === '' ? name : `${relFromSource}/${name}`);
    }
  };
  visit(rel, '');
  return out;
}
