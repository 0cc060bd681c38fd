/**
 * Checks of the built-in kinds that a JSON schema cannot express (cross-field rules, as Kubernetes' typed validation
 * has them for Pods, Deployments and Secrets), and the one defaulting rule that reads another field. They run after
 * the schema accepted the object, so they may rely on its types.
 */
import { fieldErrors } from '../errors';
import { isQualifiedName } from '../names';
import { validateLabels } from '../object-meta';
import type { FieldError } from '../types';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- shapes were checked by the schema

const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const PERCENT = /^[0-9]+%$/;
/** Kubernetes' limit on a Secret's total data. */
export const SECRET_MAX_BYTES = 1024 * 1024;

/** `path` of each element of `items` whose `keyOf` repeats an earlier one. */
function duplicates<T>(items: readonly T[], keyOf: (item: T) => unknown, path: (i: number) => string): FieldError[] {
  const seen = new Set<string>();
  const errors: FieldError[] = [];
  items.forEach((item, i) => {
    const key = keyOf(item);
    if (key === undefined) return;
    const text = JSON.stringify(key);
    if (seen.has(text)) errors.push(fieldErrors.duplicate(path(i), key));
    seen.add(text);
  });
  return errors;
}

const PROBE_HANDLERS = ['exec', 'httpGet', 'tcpSocket'] as const;

function probeErrors(probe: Obj | undefined, at: string, kind: 'startup' | 'readiness' | 'liveness'): FieldError[] {
  if (!probe) return [];
  const handlers = PROBE_HANDLERS.filter((h) => probe[h] !== undefined);
  const errors: FieldError[] = [];
  if (handlers.length === 0) errors.push(fieldErrors.required(at, 'must specify a handler type'));
  if (handlers.length > 1) errors.push(fieldErrors.forbidden(`${at}.${handlers[1]}`, 'may not specify more than 1 handler type'));
  if (kind !== 'readiness' && probe.successThreshold !== undefined && probe.successThreshold !== 1) {
    errors.push(fieldErrors.invalid(`${at}.successThreshold`, probe.successThreshold, 'must be 1'));
  }
  return errors;
}

/** Container.spec and Service.spec.template.spec. */
export function containerSpecErrors(spec: Obj, at: string): FieldError[] {
  const errors: FieldError[] = [];
  const env: Obj[] = spec.env ?? [];
  env.forEach((e, i) => {
    if (e.value !== undefined && e.value !== '' && e.valueFrom !== undefined) {
      errors.push(fieldErrors.invalid(`${at}.env[${i}].valueFrom`, '', 'may not be specified when `value` is not empty'));
    }
    if (e.valueFrom && Object.keys(e.valueFrom).length !== 1) {
      errors.push(fieldErrors.invalid(`${at}.env[${i}].valueFrom`, '', 'must specify exactly one of: `fieldRef` or `secretKeyRef`'));
    }
  });
  const ports: Obj[] = spec.ports ?? [];
  errors.push(...duplicates(ports, (p) => (p.hostPort === undefined ? undefined : `${p.hostPort}/${p.protocol ?? 'TCP'}`), (i) => `${at}.ports[${i}].hostPort`));
  errors.push(...duplicates(ports, (p) => p.name, (i) => `${at}.ports[${i}].name`));
  (spec.secrets ?? []).forEach((s: Obj, i: number) => {
    (s.items ?? []).forEach((item: Obj, j: number) => {
      if (String(item.path).split('/').includes('..')) errors.push(fieldErrors.invalid(`${at}.secrets[${i}].items[${j}].path`, item.path, "must not contain '..'"));
    });
  });
  errors.push(...duplicates(spec.secrets ?? [], (s: Obj) => s.target ?? `/run/secrets/${s.name}`, (i) => `${at}.secrets[${i}].target`));
  errors.push(...probeErrors(spec.startupProbe, `${at}.startupProbe`, 'startup'));
  errors.push(...probeErrors(spec.readinessProbe, `${at}.readinessProbe`, 'readiness'));
  errors.push(...probeErrors(spec.livenessProbe, `${at}.livenessProbe`, 'liveness'));
  return errors;
}

/** Does a LabelSelector (matchLabels + matchExpressions) select `labels`? */
export function selectorMatches(selector: Obj, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of (selector.matchExpressions ?? []) as Obj[]) {
    const has = e.key in labels;
    const values: string[] = e.values ?? [];
    const ok =
      e.operator === 'In' ? has && values.includes(labels[e.key])
      : e.operator === 'NotIn' ? !has || !values.includes(labels[e.key])
      : e.operator === 'Exists' ? has
      : !has;
    if (!ok) return false;
  }
  return true;
}

function selectorErrors(selector: Obj, at: string): FieldError[] {
  const errors = validateLabels(selector.matchLabels, `${at}.matchLabels`);
  ((selector.matchExpressions ?? []) as Obj[]).forEach((e, i) => {
    const eat = `${at}.matchExpressions[${i}]`;
    for (const p of isQualifiedName(e.key)) errors.push(fieldErrors.invalid(`${eat}.key`, e.key, p));
    const values: unknown[] = e.values ?? [];
    if ((e.operator === 'In' || e.operator === 'NotIn') && values.length === 0) {
      errors.push(fieldErrors.required(`${eat}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
    }
    if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && values.length > 0) {
      errors.push(fieldErrors.forbidden(`${eat}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
    }
  });
  return errors;
}

function intOrPercentErrors(value: unknown, at: string): FieldError[] {
  if (typeof value === 'string' && !PERCENT.test(value)) {
    return [fieldErrors.invalid(at, value, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")];
  }
  if (typeof value === 'number' && value < 0) return [fieldErrors.invalid(at, value, 'must be greater than or equal to 0')];
  return [];
}

const STRATEGY_PARAMS: Record<string, string> = { RollingUpdate: 'rollingUpdate', BlueGreen: 'blueGreen', Canary: 'canary' };

function strategyErrors(strategy: Obj | undefined, at: string): FieldError[] {
  if (!strategy) return [];
  const errors: FieldError[] = [];
  for (const [type, key] of Object.entries(STRATEGY_PARAMS)) {
    if (strategy[key] !== undefined && strategy.type !== type) {
      errors.push(fieldErrors.forbidden(`${at}.${key}`, `may not be specified when strategy \`type\` is '${strategy.type}'`));
    }
  }
  const ru: Obj | undefined = strategy.rollingUpdate;
  if (ru) {
    errors.push(...intOrPercentErrors(ru.maxSurge, `${at}.rollingUpdate.maxSurge`), ...intOrPercentErrors(ru.maxUnavailable, `${at}.rollingUpdate.maxUnavailable`));
    const isZero = (v: unknown) => v === 0 || v === '0%';
    if (isZero(ru.maxSurge) && isZero(ru.maxUnavailable)) {
      errors.push(fieldErrors.invalid(`${at}.rollingUpdate.maxUnavailable`, ru.maxUnavailable, 'may not be 0 when `maxSurge` is 0'));
    }
    if (ru.order === 'start-first' && isZero(ru.maxSurge)) {
      errors.push(fieldErrors.invalid(`${at}.rollingUpdate.order`, ru.order, 'start-first needs `maxSurge` above 0'));
    }
  }
  return errors;
}

function serviceErrors(obj: Obj): FieldError[] {
  const spec: Obj = obj.spec ?? {};
  const template: Obj = spec.template ?? {};
  const labels: Record<string, string> = template.metadata?.labels ?? {};
  const errors = [...validateLabels(labels, 'spec.template.metadata.labels')];
  if (spec.selector) {
    errors.push(...selectorErrors(spec.selector, 'spec.selector'));
    if (Object.keys(spec.selector).length === 0 || (!spec.selector.matchLabels && !spec.selector.matchExpressions?.length)) {
      errors.push(fieldErrors.invalid('spec.selector', spec.selector, 'empty selector is invalid for a Service'));
    } else if (!selectorMatches(spec.selector, labels)) {
      errors.push(fieldErrors.invalid('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'));
    }
  }
  const ports: Obj[] = spec.ports ?? [];
  if (ports.length > 1) ports.forEach((p, i) => p.name === undefined && errors.push(fieldErrors.required(`spec.ports[${i}].name`, 'required when a Service has more than one port')));
  errors.push(...duplicates(ports, (p) => p.name, (i) => `spec.ports[${i}].name`));
  errors.push(...duplicates(ports, (p) => `${p.port}/${p.protocol ?? 'TCP'}`, (i) => `spec.ports[${i}].port`));
  errors.push(...duplicates(ports, (p) => (p.publishedPort === undefined ? undefined : `${p.publishedPort}/${p.protocol ?? 'TCP'}`), (i) => `spec.ports[${i}].publishedPort`));
  errors.push(...strategyErrors(spec.strategy, 'spec.strategy'));
  if (template.spec) errors.push(...containerSpecErrors(template.spec, 'spec.template.spec'));
  return errors;
}

function secretErrors(obj: Obj): FieldError[] {
  const errors: FieldError[] = [];
  let size = 0;
  for (const field of ['data', 'stringData'] as const) {
    for (const [key, value] of Object.entries((obj[field] ?? {}) as Record<string, string>)) {
      if (!CONFIG_KEY.test(key) || key.length > 253) {
        errors.push(fieldErrors.invalid(`${field}[${key}]`, key, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"));
      }
      size += field === 'data' ? Math.floor((value.length * 3) / 4) : Buffer.byteLength(value);
    }
  }
  if (size > SECRET_MAX_BYTES) errors.push(fieldErrors.tooLong('data', SECRET_MAX_BYTES));
  return errors;
}

function nodeErrors(obj: Obj): FieldError[] {
  const taints: Obj[] = obj.spec?.taints ?? [];
  const errors: FieldError[] = [];
  taints.forEach((t, i) => {
    for (const p of isQualifiedName(t.key)) errors.push(fieldErrors.invalid(`spec.taints[${i}].key`, t.key, p));
  });
  errors.push(...duplicates(taints, (t) => `${t.key}:${t.effect}`, (i) => `spec.taints[${i}]`));
  return errors;
}

/** Semantic checks by kind (berth.dev built-ins only). */
export const semanticRules: Readonly<Record<string, (obj: Obj) => FieldError[]>> = {
  Container: (obj) => (obj.spec ? containerSpecErrors(obj.spec, 'spec') : []),
  Service: serviceErrors,
  Secret: secretErrors,
  Node: nodeErrors,
};

/** Defaults that depend on other fields: a Service without a selector selects its template's labels. */
export const semanticDefaults: Readonly<Record<string, (obj: Obj) => void>> = {
  Service: (obj) => {
    const labels = obj.spec?.template?.metadata?.labels;
    if (obj.spec && obj.spec.selector === undefined && labels && Object.keys(labels).length > 0) {
      obj.spec.selector = { matchLabels: { ...labels } };
    }
  },
};
