/** Reading CRD manifests from disk (the built-in kinds in manifests/crds/). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';

/** manifests/crds of this checkout, found from the source (api/schema) or the build output (dist/api/schema). */
export function findBuiltinCrdDir(start: string = __dirname): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'manifests', 'crds');
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`manifests/crds not found above ${start}`);
  }
}

/** Every YAML document of every `*.yaml`/`*.yml` file in `dir` (sorted by file name), with the file it came from. */
export function readManifestDir(dir: string): Array<{ file: string; doc: unknown }> {
  const files = fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  const out: Array<{ file: string; doc: unknown }> = [];
  for (const f of files) {
    const file = path.join(dir, f);
    const docs = parseAllDocuments(fs.readFileSync(file, 'utf8'));
    for (const d of Array.isArray(docs) ? docs : [docs]) {
      if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0].message}`, { cause: d.errors[0] });
      const doc = d.toJS();
      if (doc !== null && doc !== undefined) out.push({ file, doc });
    }
  }
  return out;
}
