import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUILTIN_CRD_DIR, SchemaRegistry } from '../../../api/schema';
import { readManifestDir } from '../../../api/schema/load';

const EXAMPLES = path.join(path.dirname(BUILTIN_CRD_DIR), 'examples');
const registry = SchemaRegistry.withBuiltins();
const docs = fs.existsSync(EXAMPLES) ? readManifestDir(EXAMPLES) : [];

describe('manifests/examples', () => {
  it('exist', () => {
    expect(docs.length).toBeGreaterThan(0);
  });

  it.each(docs.map(({ file, doc }) => [`${path.basename(file)} ${(doc as { kind: string }).kind}/${(doc as { metadata: { name: string } }).metadata.name}`, doc]))(
    '%s is valid under fieldValidation=Strict',
    (_name, doc) => {
      const d = doc as { apiVersion: string; kind: string };
      const info = registry.resolveKind(d.apiVersion, d.kind);
      expect(info).toBeDefined();
      const result = registry.admit(info!, doc, 'Strict');
      expect(result.errors).toEqual([]);
      expect(result.unknownFields).toEqual([]);
    },
  );
});
