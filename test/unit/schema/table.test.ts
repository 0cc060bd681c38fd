import { SchemaRegistry, buildTable } from '../../../api/schema';
import { JsonPathError, evaluateJsonPath, parseJsonPath } from '../../../api/schema/jsonpath';
import { humanDuration } from '../../../api/schema/table';

const doc = {
  metadata: { name: 'n1', labels: { 'app.kubernetes.io/name': 'web' } },
  spec: { ports: [{ port: 80 }, { port: 443 }] },
  status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'DiskPressure', status: 'False' }], count: 3, ok: true },
};

describe('jsonpath', () => {
  it.each([
    ['.metadata.name', ['n1']],
    ['{.metadata.name}', ['n1']],
    ['$.metadata.name', ['n1']],
    ['.spec.ports[0].port', [80]],
    ['.spec.ports[-1].port', [443]],
    ['.spec.ports[*].port', [80, 443]],
    ['.spec.ports[5].port', []],
    [".metadata.labels['app.kubernetes.io/name']", ['web']],
    ['.metadata.labels.missing', []],
    ['.status.conditions[?(@.type=="Ready")].status', ['True']],
    [".status.conditions[?(@.status!='True')].type", ['DiskPressure']],
    ['.status.count', [3]],
    ['.status.ok', [true]],
  ])('%s selects %j', (expr, expected) => {
    expect(evaluateJsonPath(parseJsonPath(expr), doc)).toEqual(expected);
  });

  it.each(['.a[', '.a b', 'a.b', '.a[?(@.x>1)]', '.a[1:2]', '..a'])('rejects %s', (expr) => {
    expect(() => parseJsonPath(expr)).toThrow(JsonPathError);
  });
});

describe('humanDuration', () => {
  it.each([
    [-5000, '<invalid>'],
    [-500, '0s'],
    [0, '0s'],
    [59_000, '59s'],
    [119_000, '119s'],
    [125_000, '2m5s'],
    [600_000, '10m'],
    [179 * 60_000, '179m'],
    [3 * 3600_000 + 5 * 60_000, '3h5m'],
    [10 * 3600_000, '10h'],
    [3 * 86400_000 + 2 * 3600_000, '3d2h'],
    [100 * 86400_000, '100d'],
    [3 * 365 * 86400_000 + 10 * 86400_000, '3y10d'],
    [9 * 365 * 86400_000, '9y'],
  ])('%i ms → %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});

describe('buildTable', () => {
  const registry = SchemaRegistry.withBuiltins();
  const containers = registry.resolve('berth.dev', 'v1', 'containers')!;
  const now = new Date('2026-01-01T01:00:00Z');
  const ctr = {
    apiVersion: 'berth.dev/v1',
    kind: 'Container',
    metadata: { name: 'web-1', namespace: 'default', creationTimestamp: '2026-01-01T00:55:00Z' },
    spec: { image: 'busybox', nodeName: 'node-1' },
    status: { phase: 'Running', restartCount: 2, ready: true },
  };

  it('renders the Name column and every printer column with typed cells', () => {
    const table = buildTable(containers, [ctr, { metadata: { name: 'bare' }, spec: { image: 'x' } }], { now, listMeta: { resourceVersion: '7' } });
    expect(table).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion: '7' } });
    expect((table.columnDefinitions as Array<{ name: string; priority: number }>).map((c) => [c.name, c.priority])).toEqual([
      ['Name', 0], ['Image', 0], ['Node', 0], ['Phase', 0], ['Restarts', 0], ['Age', 0], ['Ready', 1], ['IP', 1], ['Reason', 1],
    ]);
    const rows = table.rows as Array<{ cells: unknown[]; object: Record<string, unknown> }>;
    expect(rows[0].cells).toEqual(['web-1', 'busybox', 'node-1', 'Running', 2, '5m', true, null, null]);
    expect(rows[1].cells).toEqual(['bare', 'x', null, null, null, null, null, null, null]);
    expect(rows[0].object).toEqual({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: ctr.metadata });
  });

  it.each([
    ['None', undefined],
    ['Object', ctr],
  ] as const)('includeObject=%s', (includeObject, expected) => {
    const [row] = buildTable(containers, [ctr], { includeObject, now }).rows as Array<{ object?: unknown }>;
    expect(row.object).toEqual(expected);
  });

  it('adds an Age column for kinds without printer columns', () => {
    const info = { ...containers, printerColumns: [] };
    const table = buildTable(info, [ctr], { now });
    expect((table.columnDefinitions as Array<{ name: string }>).map((c) => c.name)).toEqual(['Name', 'Age']);
  });

  it('shows conditions through filter paths (Node Status column)', () => {
    const nodes = registry.resolve('berth.dev', 'v1', 'nodes')!;
    const [row] = buildTable(nodes, [{ metadata: { name: 'n' }, status: { conditions: [{ type: 'Ready', status: 'False' }] } }], { now }).rows as Array<{ cells: unknown[] }>;
    expect(row.cells.slice(0, 2)).toEqual(['n', 'False']);
  });

  it('renders non-string values of string columns as JSON and wrong types as null', () => {
    const info = { ...containers, printerColumns: [{ name: 'S', type: 'string' as const, jsonPath: '.spec.x' }, { name: 'I', type: 'integer' as const, jsonPath: '.spec.y' }, { name: 'D', type: 'date' as const, jsonPath: '.spec.z' }] };
    const [row] = buildTable(info, [{ metadata: { name: 'a' }, spec: { x: { k: 1 }, y: 'nope', z: 'not a date' } }], { now }).rows as Array<{ cells: unknown[] }>;
    expect(row.cells).toEqual(['a', '{"k":1}', null, '<invalid>']);
  });
});
