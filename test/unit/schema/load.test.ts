import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { SchemaRegistry } from '../../../api/schema';
import { findBuiltinCrdDir, readManifestDir } from '../../../api/schema/load';
import { newWidgetCrd } from './crd-fixtures';

describe('loading CRD manifests from a directory', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-schema-load-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('reads every document of every YAML file in name order, skipping empty documents and other files', () => {
    fs.writeFileSync(path.join(dir, 'b.yaml'), 'kind: B\n---\n---\nkind: C\n');
    fs.writeFileSync(path.join(dir, 'a.yml'), 'kind: A\n');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'kind: Ignored\n');
    expect(readManifestDir(dir).map(({ file, doc }) => [path.basename(file), (doc as { kind: string }).kind])).toEqual([
      ['a.yml', 'A'],
      ['b.yaml', 'B'],
      ['b.yaml', 'C'],
    ]);
  });

  it('names the file of a malformed document', () => {
    fs.writeFileSync(path.join(dir, 'broken.yaml'), 'a: [unclosed\n');
    expect(() => readManifestDir(dir)).toThrow(/broken\.yaml/);
  });

  it('adds the CRDs of a directory and skips other kinds (RBAC objects beside them)', () => {
    fs.writeFileSync(path.join(dir, 'widgets.yaml'), stringify(newWidgetCrd()));
    fs.writeFileSync(path.join(dir, 'rbac-roles.yaml'), 'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: x\n');
    const registry = new SchemaRegistry();
    expect(registry.loadDirectory(dir).map((r) => r.kind)).toEqual(['Widget']);
    expect(registry.resolve('example.com', 'v1', 'widgets')?.builtIn).toBe(false);
  });

  it('refuses an invalid CRD naming its file', () => {
    const crd = newWidgetCrd();
    crd.spec.scope = 'Somewhere' as never;
    fs.writeFileSync(path.join(dir, 'bad-crd.yaml'), stringify(crd));
    expect(() => new SchemaRegistry().loadDirectory(dir)).toThrow(/loading .*bad-crd\.yaml: CustomResourceDefinition "widgets.example.com" is invalid: spec.scope/);
  });

  it('finds manifests/crds above a directory, and says where it looked when there is none', () => {
    expect(findBuiltinCrdDir(path.join(__dirname, 'deeper', 'still'))).toBe(path.resolve(__dirname, '../../../manifests/crds'));
    expect(() => findBuiltinCrdDir(dir)).toThrow(`manifests/crds not found above ${dir}`);
  });
});
