/** Reads manifests for `apply -f` / `delete -f`: a file, a directory (its .yaml/.yml/.json files, sorted) or `-` (stdin). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../client';

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

const filesOf = (target: string): string[] => {
  if (fs.statSync(target).isDirectory())
    return fs
      .readdirSync(target)
      .filter((f) => MANIFEST_EXTENSIONS.has(path.extname(f)))
      .sort()
      .map((f) => path.join(target, f));
  return [target];
};

const parseDocuments = (text: string, source: string): KubeObject[] => {
  const docs: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors[0].message}`);
    const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
    if (value === null || value === undefined) continue;
    const list = value as { kind?: string; items?: KubeObject[] };
    if (typeof list.kind === 'string' && list.kind.endsWith('List') && Array.isArray(list.items)) docs.push(...list.items);
    else docs.push(value as KubeObject);
  }
  return docs;
};

export const readManifests = (targets: string[]): KubeObject[] => {
  const objects: KubeObject[] = [];
  for (const target of targets) {
    if (target === '-') objects.push(...parseDocuments(fs.readFileSync(0, 'utf8'), 'stdin'));
    else for (const file of filesOf(target)) objects.push(...parseDocuments(fs.readFileSync(file, 'utf8'), file));
  }
  return objects;
};
