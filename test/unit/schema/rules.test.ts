import { SchemaRegistry } from '../../../api/schema';
import { selectorMatches } from '../../../api/schema/kinds/rules';

const registry = SchemaRegistry.withBuiltins();
const info = (kind: string) => registry.resolveKind('berth.dev/v1', kind)!;

const service = (spec: Record<string, unknown>) => ({
  metadata: { name: 'web' },
  spec: { template: { metadata: { labels: { app: 'web', tier: 'front' } }, spec: { image: 'busybox' } }, ...spec },
});
const container = (spec: Record<string, unknown>) => ({ metadata: { name: 'c' }, spec: { image: 'busybox', ...spec } });

describe('cross-field rules of the built-in kinds', () => {
  it.each([
    ['Service', service({ selector: { matchLabels: { app: 'db' } } }), 'spec.template.metadata.labels', 'FieldValueInvalid'],
    ['Service', service({ selector: {} }), 'spec.selector', 'FieldValueInvalid'],
    ['Service', service({ selector: { matchLabels: { 'bad key': 'x' } } }), 'spec.selector.matchLabels', 'FieldValueInvalid'],
    ['Service', service({ selector: { matchExpressions: [{ key: 'app', operator: 'In' }] } }), 'spec.selector.matchExpressions[0].values', 'FieldValueRequired'],
    ['Service', service({ selector: { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['x'] }] } }), 'spec.selector.matchExpressions[0].values', 'FieldValueForbidden'],
    ['Service', service({ template: { metadata: { labels: { app: 'bad value!' } }, spec: { image: 'x' } } }), 'spec.template.metadata.labels[app]', 'FieldValueInvalid'],
    ['Service', service({ ports: [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] }), 'spec.ports[1].name', 'FieldValueDuplicate'],
    ['Service', service({ ports: [{ name: 'a', port: 80 }, { name: 'b', port: 80 }] }), 'spec.ports[1].port', 'FieldValueDuplicate'],
    ['Service', service({ ports: [{ port: 80 }, { port: 81 }] }), 'spec.ports[0].name', 'FieldValueRequired'],
    ['Service', service({ ports: [{ name: 'a', port: 80, publishedPort: 8080 }, { name: 'b', port: 81, publishedPort: 8080 }] }), 'spec.ports[1].publishedPort', 'FieldValueDuplicate'],
    ['Service', service({ strategy: { type: 'Recreate', rollingUpdate: { maxSurge: 1 } } }), 'spec.strategy.rollingUpdate', 'FieldValueForbidden'],
    ['Service', service({ strategy: { type: 'RollingUpdate', canary: { steps: [] } } }), 'spec.strategy.canary', 'FieldValueForbidden'],
    ['Service', service({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25' } } }), 'spec.strategy.rollingUpdate.maxSurge', 'FieldValueInvalid'],
    ['Service', service({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: -1 } } }), 'spec.strategy.rollingUpdate.maxUnavailable', 'FieldValueInvalid'],
    ['Service', service({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' } } }), 'spec.strategy.rollingUpdate.maxUnavailable', 'FieldValueInvalid'],
    ['Service', service({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1, order: 'start-first' } } }), 'spec.strategy.rollingUpdate.order', 'FieldValueInvalid'],
    ['Service', service({ template: { spec: { image: 'x', readinessProbe: {} } } }), 'spec.template.spec.readinessProbe', 'FieldValueRequired'],
    ['Container', container({ livenessProbe: { exec: { command: ['true'] }, tcpSocket: { port: 1 } } }), 'spec.livenessProbe.tcpSocket', 'FieldValueForbidden'],
    ['Container', container({ livenessProbe: { exec: { command: ['true'] }, successThreshold: 2 } }), 'spec.livenessProbe.successThreshold', 'FieldValueInvalid'],
    ['Container', container({ env: [{ name: 'A', value: 'x', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] }), 'spec.env[0].valueFrom', 'FieldValueInvalid'],
    ['Container', container({ env: [{ name: 'A', valueFrom: {} }] }), 'spec.env[0].valueFrom', 'FieldValueInvalid'],
    ['Container', container({ ports: [{ containerPort: 80 }, { containerPort: 80, protocol: 'TCP' }] }), 'spec.ports[1]', 'FieldValueDuplicate'],
    ['Container', container({ env: [{ name: 'A', value: '1' }, { name: 'A', value: '2' }] }), 'spec.env[1]', 'FieldValueDuplicate'],
    ['Service', service({ template: { metadata: { labels: { app: 'web', tier: 'front' } }, spec: { image: 'x', networks: ['n', 'n'] } } }), 'spec.template.spec.networks[1]', 'FieldValueDuplicate'],
    ['Service', { ...service({}), status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'Ready', status: 'False' }] } }, 'status.conditions[1]', 'FieldValueDuplicate'],
    ['Container', container({ ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 81, hostPort: 8080 }] }), 'spec.ports[1].hostPort', 'FieldValueDuplicate'],
    ['Container', container({ networks: ['a', 'a'] }), 'spec.networks[1]', 'FieldValueDuplicate'],
    ['Container', container({ secrets: [{ name: 's', items: [{ key: 'k', path: 'a/../../etc' }] }] }), 'spec.secrets[0].items[0].path', 'FieldValueInvalid'],
    ['Container', container({ secrets: [{ name: 's' }, { name: 's' }] }), 'spec.secrets[1].target', 'FieldValueDuplicate'],
    ['Secret', { metadata: { name: 's' }, data: { 'bad key': 'YQ==' } }, 'data[bad key]', 'FieldValueInvalid'],
    ['Secret', { metadata: { name: 's' }, stringData: { 'a/b': 'x' } }, 'stringData[a/b]', 'FieldValueInvalid'],
    ['Secret', { metadata: { name: 's' }, stringData: { big: 'x'.repeat(1024 * 1024 + 1) } }, 'data', 'FieldValueTooLong'],
    ['Node', { metadata: { name: 'n' }, spec: { taints: [{ key: 'k', effect: 'NoSchedule' }, { key: 'k', effect: 'NoSchedule' }] } }, 'spec.taints[1]', 'FieldValueDuplicate'],
    ['Node', { metadata: { name: 'n' }, spec: { taints: [{ key: 'bad key', effect: 'NoSchedule' }] } }, 'spec.taints[0].key', 'FieldValueInvalid'],
  ])('%s: %j → %s %s', (kind, obj, field, reason) => {
    const { errors } = registry.admit(info(kind), obj);
    expect(errors.map((e) => [e.field, e.reason])).toContainEqual([field, reason]);
  });

  it.each([
    ['a selector matching the template', service({ selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['back'] }] } })],
    ['percent and integer surge/unavailable', service({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '50%', maxUnavailable: 0, order: 'start-first' } } })],
    ['one unnamed port', service({ ports: [{ port: 80 }] })],
    ['a probe with one handler', container({ readinessProbe: { httpGet: { port: 80 }, successThreshold: 3 } })],
    ['the same containerPort over TCP and UDP', container({ ports: [{ containerPort: 53 }, { containerPort: 53, protocol: 'UDP' }] })],
  ])('accepts %s', (_what, obj) => {
    const kind = 'template' in (obj.spec as object) ? 'Service' : 'Container';
    expect(registry.admit(info(kind), obj).errors).toEqual([]);
  });

  it('defaults a Service selector to its template labels', () => {
    const { object } = registry.admit(info('Service'), service({}));
    expect((object.spec as { selector: unknown }).selector).toEqual({ matchLabels: { app: 'web', tier: 'front' } });
  });

  it('runs the rules only on objects the schema accepted', () => {
    const { errors } = registry.admit(info('Service'), service({ replicas: 'x', selector: { matchLabels: { app: 'db' } } }));
    expect(errors.map((e) => e.field)).toEqual(['spec.replicas']);
  });

  it('does not apply the rules of berth.dev kinds to a user CRD kind of the same name', () => {
    const r = SchemaRegistry.withBuiltins();
    const [own] = r.addCrd({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'secrets.example.com' },
      spec: { group: 'example.com', scope: 'Namespaced', names: { kind: 'Secret', plural: 'secrets' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { data: { type: 'object', additionalProperties: { type: 'string' } } } } } }] },
    });
    expect(r.admit(own, { metadata: { name: 's' }, data: { 'bad key': 'x' } }).errors).toEqual([]);
  });
});

describe('selectorMatches', () => {
  const labels = { app: 'web', tier: 'front' };
  it.each([
    [{}, true],
    [{ matchLabels: { app: 'web' } }, true],
    [{ matchLabels: { app: 'db' } }, false],
    [{ matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'db'] }] }, true],
    [{ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }, false],
    [{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, true],
    [{ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, true],
    [{ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, false],
    [{ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, true],
  ])('%j matches {app: web, tier: front}: %s', (selector, expected) => {
    expect(selectorMatches(selector, labels)).toBe(expected);
  });
});
