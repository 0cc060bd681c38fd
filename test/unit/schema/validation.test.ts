import { SchemaRegistry, invalidMessage, strictDecodingMessage, unknownFieldWarnings, type ResourceInfo } from '../../../api/schema';
import { pointerToFieldPath, toAjvSchema } from '../../../api/schema/validator';

const registry = SchemaRegistry.withBuiltins();
const info = (kind: string): ResourceInfo => registry.resolveKind(kind === 'Namespace' ? 'v1' : 'berth.dev/v1', kind)!;

const validContainer = () => ({
  apiVersion: 'berth.dev/v1',
  kind: 'Container',
  metadata: { name: 'web-1', namespace: 'default', labels: { app: 'web' } },
  spec: {
    image: 'busybox:1.36',
    command: ['sh', '-c'],
    args: ['sleep 1000'],
    env: [{ name: 'A', value: '1' }, { name: 'B', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
    ports: [{ containerPort: 80, hostPort: 8080, protocol: 'TCP' }],
    resources: { limits: { cpu: '500m', memory: '64Mi', pids: 100 } },
    restartPolicy: 'OnFailure',
    networks: ['front', 'back'],
    secrets: [{ name: 's', items: [{ key: 'k', path: 'k.txt', mode: 256 }], target: '/run/s', mode: 256 }],
    readinessProbe: { httpGet: { path: '/', port: 80 }, periodSeconds: 5 },
    livenessProbe: { exec: { command: ['true'] } },
    startupProbe: { tcpSocket: { port: 80 }, failureThreshold: 30 },
    terminationGracePeriodSeconds: 10,
  },
});

const validService = () => ({
  apiVersion: 'berth.dev/v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a'] }] },
    template: { metadata: { labels: { app: 'web', tier: 'a' } }, spec: { image: 'busybox' } },
    ports: [{ name: 'http', port: 80, targetPort: 'http', publishedPort: 8080 }],
    strategy: {
      type: 'Canary',
      canary: { steps: [{ setWeight: 20 }, { pause: { duration: 30 } }, { pause: {} }], analysis: { maxErrorRate: 0.05, maxLatencyMs: 200 } },
    },
  },
});

/** Sets `path` (dotted, numeric segments index arrays) in a copy of `obj`; value undefined deletes it. */
function withField<T>(obj: T, path: string, value: unknown): T {
  const copy = structuredClone(obj) as Record<string, unknown>;
  const keys = path.split('.');
  let cur: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) cur = cur[k] as Record<string, unknown>;
  const last = keys[keys.length - 1];
  if (value === undefined) delete cur[last];
  else cur[last] = value;
  return copy as T;
}

describe('admit: valid objects', () => {
  it.each([
    ['Container', validContainer()],
    ['Service', validService()],
    ['Service', withField(validService(), 'spec.strategy', { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0, order: 'start-first', failureAction: 'rollback', maxFailureRatio: 0.2 } })],
    ['Service', withField(validService(), 'spec.strategy', { type: 'BlueGreen', blueGreen: { previewPort: 9090, autoPromote: true, scaleDownDelaySeconds: 30 } })],
    ['Image', { metadata: { name: 'busybox' }, spec: { ref: 'docker.io/library/busybox:1.36', build: { context: '/src' } } }],
    ['Network', { metadata: { name: 'front' }, spec: { driver: 'bridge', subnet: '10.88.0.0/24', gateway: '10.88.0.1', internal: true } }],
    ['Secret', { metadata: { name: 's' }, data: { k: 'aGVsbG8=' }, stringData: { p: 'plain' }, type: 'Opaque' }],
    ['Node', { metadata: { name: 'node-1' }, spec: { unschedulable: true, taints: [{ key: 'k', effect: 'NoSchedule' }] }, status: { capacity: { cpu: 2, memory: '24Gi' } } }],
    ['Event', { metadata: { name: 'e.1' }, involvedObject: { kind: 'Container', name: 'web-1' }, reason: 'Started', type: 'Normal', count: 1 }],
    ['Lease', { metadata: { name: 'node-1' }, spec: { holderIdentity: 'node-1', leaseDurationSeconds: 40, renewTime: '2026-01-01T00:00:00.123456Z' } }],
    ['Namespace', { metadata: { name: 'team-a' } }],
  ])('%s passes', (kind, obj) => {
    const result = registry.admit(info(kind), obj);
    expect(result.errors).toEqual([]);
    expect(result.unknownFields).toEqual([]);
  });

  it('applies defaults and returns a copy', () => {
    const input = validService();
    delete (input.spec as Record<string, unknown>).strategy;
    const { object } = registry.admit(info('Service'), input);
    expect(object.spec).toMatchObject({ strategy: { type: 'RollingUpdate' }, revisionHistoryLimit: 10, progressDeadlineSeconds: 600, template: { spec: { restartPolicy: 'Always' } } });
    expect(input.spec).not.toHaveProperty('revisionHistoryLimit');
  });
});

describe('admit: every schema violation is reported with its Kubernetes field path', () => {
  it.each([
    ['Container', 'spec.image', undefined, 'spec.image', 'FieldValueRequired'],
    ['Container', 'spec.image', 42, 'spec.image', 'FieldValueTypeInvalid'],
    ['Container', 'spec.image', '', 'spec.image', 'FieldValueInvalid'],
    ['Container', 'spec.command', 'sleep 1', 'spec.command', 'FieldValueTypeInvalid'],
    ['Container', 'spec.args', [1, 2], 'spec.args[0]', 'FieldValueTypeInvalid'],
    ['Container', 'spec.env', [{ value: 'x' }], 'spec.env[0].name', 'FieldValueRequired'],
    ['Container', 'spec.env', [{ name: 'A=B' }], 'spec.env[0].name', 'FieldValueInvalid'],
    ['Container', 'spec.env', [{ name: 'A', valueFrom: { secretKeyRef: { name: 's' } } }], 'spec.env[0].valueFrom.secretKeyRef.key', 'FieldValueRequired'],
    ['Container', 'spec.ports', [{ containerPort: 0 }], 'spec.ports[0].containerPort', 'FieldValueInvalid'],
    ['Container', 'spec.ports', [{ containerPort: 70000 }], 'spec.ports[0].containerPort', 'FieldValueInvalid'],
    ['Container', 'spec.ports', [{ containerPort: 80, protocol: 'ICMP' }], 'spec.ports[0].protocol', 'FieldValueNotSupported'],
    ['Container', 'spec.ports', [{ containerPort: 80.5 }], 'spec.ports[0].containerPort', 'FieldValueTypeInvalid'],
    ['Container', 'spec.resources', { limits: { memory: '64 megs' } }, 'spec.resources.limits.memory', 'FieldValueInvalid'],
    ['Container', 'spec.resources', { limits: { cpu: true } }, 'spec.resources.limits.cpu', 'FieldValueTypeInvalid'],
    ['Container', 'spec.resources', { limits: { pids: 0 } }, 'spec.resources.limits.pids', 'FieldValueInvalid'],
    ['Container', 'spec.restartPolicy', 'Sometimes', 'spec.restartPolicy', 'FieldValueNotSupported'],
    ['Container', 'spec.networks', [{ name: 'n' }], 'spec.networks[0]', 'FieldValueTypeInvalid'],
    ['Container', 'spec.networks', [''], 'spec.networks[0]', 'FieldValueInvalid'],
    ['Container', 'spec.secrets', [{ name: 's', mode: 1000 }], 'spec.secrets[0].mode', 'FieldValueInvalid'],
    ['Container', 'spec.secrets', [{ name: 's', target: 'relative' }], 'spec.secrets[0].target', 'FieldValueInvalid'],
    ['Container', 'spec.readinessProbe', { httpGet: { path: '/' } }, 'spec.readinessProbe.httpGet.port', 'FieldValueRequired'],
    ['Container', 'spec.livenessProbe', { exec: { command: [] } }, 'spec.livenessProbe.exec.command', 'FieldValueInvalid'],
    ['Container', 'spec.livenessProbe', { tcpSocket: { port: 1 }, periodSeconds: 0 }, 'spec.livenessProbe.periodSeconds', 'FieldValueInvalid'],
    ['Container', 'spec.hostname', 'h'.repeat(64), 'spec.hostname', 'FieldValueTooLong'],
    ['Container', 'spec.nodeSelector', { zone: 1 }, 'spec.nodeSelector[zone]', 'FieldValueTypeInvalid'],
    ['Container', 'spec', 'nope', 'spec', 'FieldValueTypeInvalid'],
    ['Container', 'spec', undefined, 'spec', 'FieldValueRequired'],
    ['Container', 'status', { phase: 'Exploded' }, 'status.phase', 'FieldValueNotSupported'],
    ['Container', 'status', { restartCount: -1 }, 'status.restartCount', 'FieldValueInvalid'],
    ['Container', 'status', { conditions: [{ type: 'Ready' }] }, 'status.conditions[0].status', 'FieldValueRequired'],
    ['Container', 'status', { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: 'yesterday' }] }, 'status.conditions[0].lastTransitionTime', 'FieldValueInvalid'],
    ['Container', 'metadata', { name: 'Bad_Name' }, 'metadata.name', 'FieldValueInvalid'],
    ['Container', 'metadata', { name: 'x', labels: { a: 1 } }, 'metadata.labels[a]', 'FieldValueTypeInvalid'],
    ['Container', 'metadata', { name: 'x', finalizers: 'f' }, 'metadata.finalizers', 'FieldValueTypeInvalid'],
    ['Service', 'spec.replicas', -1, 'spec.replicas', 'FieldValueInvalid'],
    ['Service', 'spec.replicas', 'three', 'spec.replicas', 'FieldValueTypeInvalid'],
    ['Service', 'spec.template', undefined, 'spec.template', 'FieldValueRequired'],
    ['Service', 'spec.template', { spec: {} }, 'spec.template.spec.image', 'FieldValueRequired'],
    ['Service', 'spec.template', { spec: { image: 'x', restartPolicy: 'Maybe' } }, 'spec.template.spec.restartPolicy', 'FieldValueNotSupported'],
    ['Service', 'spec.selector', { matchExpressions: [{ key: 'a', operator: 'Near' }] }, 'spec.selector.matchExpressions[0].operator', 'FieldValueNotSupported'],
    ['Service', 'spec.ports', [{ name: 'x' }], 'spec.ports[0].port', 'FieldValueRequired'],
    ['Service', 'spec.ports', [{ port: 80, targetPort: 1.5 }], 'spec.ports[0].targetPort', 'FieldValueTypeInvalid'],
    ['Service', 'spec.ports', [{ port: 80, targetPort: { a: 1 } }], 'spec.ports[0].targetPort', 'FieldValueTypeInvalid'],
    ['Service', 'spec.strategy', { type: 'YOLO' }, 'spec.strategy.type', 'FieldValueNotSupported'],
    ['Service', 'spec.strategy', { type: 'RollingUpdate', rollingUpdate: { maxSurge: [] } }, 'spec.strategy.rollingUpdate.maxSurge', 'FieldValueTypeInvalid'],
    ['Service', 'spec.strategy', { type: 'RollingUpdate', rollingUpdate: { order: 'random' } }, 'spec.strategy.rollingUpdate.order', 'FieldValueNotSupported'],
    ['Service', 'spec.strategy', { type: 'RollingUpdate', rollingUpdate: { failureAction: 'panic' } }, 'spec.strategy.rollingUpdate.failureAction', 'FieldValueNotSupported'],
    ['Service', 'spec.strategy', { type: 'RollingUpdate', rollingUpdate: { maxFailureRatio: 2 } }, 'spec.strategy.rollingUpdate.maxFailureRatio', 'FieldValueInvalid'],
    ['Service', 'spec.strategy', { type: 'Canary', canary: { steps: [{ setWeight: 101 }] } }, 'spec.strategy.canary.steps[0].setWeight', 'FieldValueInvalid'],
    ['Service', 'spec.strategy', { type: 'Canary', canary: { steps: [{ setWeight: 10, pause: {} }] } }, 'spec.strategy.canary.steps[0]', 'FieldValueTooMany'],
    ['Service', 'spec.strategy', { type: 'Canary', canary: { steps: [{}] } }, 'spec.strategy.canary.steps[0]', 'FieldValueInvalid'],
    ['Service', 'spec.strategy', { type: 'BlueGreen', blueGreen: { previewPort: 0 } }, 'spec.strategy.blueGreen.previewPort', 'FieldValueInvalid'],
    ['Service', 'spec.strategy', { type: 'BlueGreen', blueGreen: { autoPromote: 'yes' } }, 'spec.strategy.blueGreen.autoPromote', 'FieldValueTypeInvalid'],
    ['Service', 'spec.paused', 'true', 'spec.paused', 'FieldValueTypeInvalid'],
    ['Service', 'status', { rollout: { phase: 'Lost' } }, 'status.rollout.phase', 'FieldValueNotSupported'],
    ['Service', 'status', { weights: { abc: 150 } }, 'status.weights[abc]', 'FieldValueInvalid'],
    ['Service', 'status', { traffic: { abc: { errorRate: 2 } } }, 'status.traffic[abc].errorRate', 'FieldValueInvalid'],
    ['Image', 'spec', {}, 'spec.ref', 'FieldValueRequired'],
    ['Image', 'spec', { ref: 'x', pullPolicy: 'Sometimes' }, 'spec.pullPolicy', 'FieldValueNotSupported'],
    ['Image', 'spec', { ref: 'x', build: {} }, 'spec.build.context', 'FieldValueRequired'],
    ['Image', 'spec', { ref: 'x', import: { path: '/a.tar', format: 'zip' } }, 'spec.import.format', 'FieldValueNotSupported'],
    ['Network', 'spec', { driver: 'macvlan' }, 'spec.driver', 'FieldValueNotSupported'],
    ['Network', 'spec', { subnet: '10.0.0.0' }, 'spec.subnet', 'FieldValueInvalid'],
    ['Network', 'spec', { gateway: 'gw' }, 'spec.gateway', 'FieldValueInvalid'],
    ['Secret', 'data', { k: 'not base64!' }, 'data[k]', 'FieldValueInvalid'],
    ['Secret', 'data', { k: 5 }, 'data[k]', 'FieldValueTypeInvalid'],
    ['Secret', 'stringData', 'x', 'stringData', 'FieldValueTypeInvalid'],
    ['Node', 'spec', { taints: [{ key: 'k', effect: 'Bite' }] }, 'spec.taints[0].effect', 'FieldValueNotSupported'],
    ['Node', 'metadata', { name: 'n', namespace: 'default' }, 'metadata.namespace', 'FieldValueForbidden'],
    ['Event', 'involvedObject', undefined, 'involvedObject', 'FieldValueRequired'],
    ['Event', 'type', 'Fatal', 'type', 'FieldValueNotSupported'],
    ['Lease', 'spec', { leaseDurationSeconds: 0 }, 'spec.leaseDurationSeconds', 'FieldValueInvalid'],
    ['Lease', 'spec', { renewTime: 'now' }, 'spec.renewTime', 'FieldValueInvalid'],
    ['Namespace', 'metadata', { name: 'a.b' }, 'metadata.name', 'FieldValueInvalid'],
    ['Namespace', 'status', { phase: 'Gone' }, 'status.phase', 'FieldValueNotSupported'],
  ])('%s with %s = %j → %s %s', (kind, path, value, field, reason) => {
    const base: Record<string, unknown> =
      kind === 'Container' ? validContainer()
      : kind === 'Service' ? validService()
      : kind === 'Event' ? { metadata: { name: 'e' }, involvedObject: { name: 'x' } }
      : kind === 'Secret' ? { metadata: { name: 's' } }
      : { metadata: { name: 'n' }, spec: kind === 'Image' ? { ref: 'x' } : {} };
    const { errors } = registry.admit(info(kind), withField(base, path, value));
    expect(errors.map((e) => [e.field, e.reason])).toContainEqual([field, reason]);
    expect(errors.every((e) => e.message.length > 0)).toBe(true);
  });

  it('collects all errors at once', () => {
    let obj = validContainer();
    obj = withField(obj, 'spec.image', 1);
    obj = withField(obj, 'spec.restartPolicy', 'x');
    obj = withField(obj, 'metadata', { name: 'UPPER' });
    const { errors } = registry.admit(info('Container'), obj);
    expect(errors.map((e) => e.field).sort()).toEqual(['metadata.name', 'spec.image', 'spec.restartPolicy']);
  });

  it('rejects a body that is not an object', () => {
    expect(registry.admit(info('Container'), [1, 2]).errors[0]).toMatchObject({ reason: 'FieldValueTypeInvalid' });
    expect(registry.admit(info('Container'), 'x').errors).toHaveLength(1);
  });
});

describe('admit: unknown fields', () => {
  const obj = () => ({ ...validContainer(), spec: { ...validContainer().spec, imagee: 'typo', ports: [{ containerPort: 1, hostport: 2 }] }, extra: true });

  it.each([
    ['Strict', ['extra', 'spec.imagee', 'spec.ports[0].hostport']],
    ['Warn', ['extra', 'spec.imagee', 'spec.ports[0].hostport']],
    ['Ignore', []],
  ] as const)('under %s reports %j and always prunes them', (mode, unknown) => {
    const result = registry.admit(info('Container'), obj(), mode);
    expect(result.unknownFields.sort()).toEqual([...unknown].sort());
    expect(result.errors).toEqual([]);
    expect(result.object).not.toHaveProperty('extra');
    expect(result.object.spec).not.toHaveProperty('imagee');
  });

  it('validate() reports the same as admit() without returning the object', () => {
    expect(registry.validate(info('Container'), obj(), 'Warn').unknownFields).toHaveLength(3);
  });
});

describe('messages', () => {
  it('invalidMessage lists every field like kube-apiserver', () => {
    const { errors } = registry.admit(info('Container'), withField(withField(validContainer(), 'spec.image', undefined), 'spec.restartPolicy', 'x'));
    expect(invalidMessage(info('Container'), 'web-1', errors)).toBe(
      'Container.berth.dev "web-1" is invalid: [spec.image: Required value, spec.restartPolicy: Unsupported value: "x": supported values: "Always", "OnFailure", "Never"]',
    );
    expect(invalidMessage(info('Namespace'), 'a', [errors[0]])).toBe('Namespace "a" is invalid: spec.image: Required value');
  });

  it('strict and warn texts name the fields', () => {
    expect(strictDecodingMessage(['spec.foo', 'bar'])).toBe('strict decoding error: unknown field "spec.foo", unknown field "bar"');
    expect(unknownFieldWarnings(['spec.foo'])).toEqual(['unknown field "spec.foo"']);
  });
});

describe('validator internals', () => {
  it.each([
    ['', ''],
    ['/spec/ports/0/containerPort', 'spec.ports[0].containerPort'],
    ['/metadata/labels/app.kubernetes.io~1name', 'metadata.labels[app.kubernetes.io/name]'],
    ['/data/key', 'data[key]'],
    ['/spec/unknown/deeper', 'spec.unknown.deeper'],
  ])('pointer %j → field %j', (pointer, field) => {
    const schema = registry.schemaOf(pointer.startsWith('/data') ? info('Secret') : info('Container'));
    const full = { ...schema, properties: { ...schema.properties, metadata: { type: 'object' as const, properties: { labels: { type: 'object' as const, additionalProperties: { type: 'string' as const } } } } } };
    expect(pointerToFieldPath(full, pointer)).toBe(field);
  });

  it.each([
    [{ 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] }, { type: ['integer', 'string'] }],
    [{ type: 'string', nullable: true }, { type: ['string', 'null'] }],
    [{ type: 'integer', minimum: 0, exclusiveMinimum: true }, { type: 'integer', exclusiveMinimum: 0 }],
    [{ type: 'string', format: 'made-up' }, { type: 'string' }],
    [{ type: 'string', format: 'byte', description: 'dropped' }, { type: 'string', format: 'byte' }],
  ])('translates %j for ajv', (node, expected) => {
    expect(toAjvSchema(node as never)).toEqual(expected);
  });
});
