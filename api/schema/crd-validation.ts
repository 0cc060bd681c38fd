/**
 * Validation of a CustomResourceDefinition itself (apiextensions ValidateCustomResourceDefinition, reduced to what
 * Berth serves): names, group, scope, versions with exactly one storage version, subresource paths, printer columns,
 * and that every version's schema is structural. Conflicts with other CRDs are the registry's job.
 */
import { fieldErrors } from './errors';
import { isDns1035Label, isDns1123Label, isDns1123Subdomain } from './names';
import { fieldPath } from './structural';
import type { FieldError, JSONSchemaProps } from './types';
import { newAjv, toAjvSchema } from './validator';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const KIND = /^[A-Z][A-Za-z0-9]*$/;
const PRINTER_TYPES = ['integer', 'number', 'string', 'boolean', 'date'];
const PRINTER_FORMATS = ['int32', 'int64', 'float', 'double', 'byte', 'date', 'date-time', 'password'];
/** JSON-schema keywords a structural schema may not use (apiextensions rejects them). */
const FORBIDDEN_KEYWORDS = ['$ref', '$schema', 'definitions', 'dependencies', 'patternProperties', 'additionalItems', 'id'];
/** Kubernetes version names: v1, v2beta3, v1alpha1 (sorted by kube-aware priority for discovery). */
const KUBE_VERSION = /^v(\d+)(?:(alpha|beta)(\d+))?$/;

export function validateCrdObject(crd: unknown): FieldError[] {
  if (!isObj(crd)) return [fieldErrors.typeInvalid('', crd, 'a CustomResourceDefinition must be an object')];
  const errors: FieldError[] = [];
  const spec = crd.spec;
  if (!isObj(spec)) return [fieldErrors.required('spec')];
  const group = spec.group;
  const names = isObj(spec.names) ? spec.names : undefined;
  if (typeof group !== 'string' || group === '') errors.push(fieldErrors.required('spec.group'));
  else {
    for (const p of isDns1123Subdomain(group)) errors.push(fieldErrors.invalid('spec.group', group, p));
    if (!group.includes('.')) errors.push(fieldErrors.invalid('spec.group', group, 'should be a domain with at least one dot'));
  }
  if (!names) errors.push(fieldErrors.required('spec.names'));
  else errors.push(...validateNames(names));
  const name = isObj(crd.metadata) ? crd.metadata.name : undefined;
  if (names && typeof names.plural === 'string' && typeof group === 'string' && name !== `${names.plural}.${group}`) {
    errors.push(fieldErrors.invalid('metadata.name', name, 'must be spec.names.plural+"."+spec.group'));
  }
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') {
    errors.push(spec.scope === undefined ? fieldErrors.required('spec.scope') : fieldErrors.notSupported('spec.scope', spec.scope, ['Cluster', 'Namespaced']));
  }
  errors.push(...validateVersions(spec.versions));
  if (spec.preserveUnknownFields === true) {
    errors.push(fieldErrors.invalid('spec.preserveUnknownFields', true, 'must be false in order to use defaults in the schema'));
  }
  const conversion = isObj(spec.conversion) ? spec.conversion : undefined;
  if (conversion && conversion.strategy !== undefined && conversion.strategy !== 'None') {
    errors.push(fieldErrors.notSupported('spec.conversion.strategy', conversion.strategy, ['None']));
  }
  return errors;
}

function validateNames(names: Obj): FieldError[] {
  const errors: FieldError[] = [];
  const at = 'spec.names';
  for (const key of ['plural', 'singular'] as const) {
    const v = names[key];
    if (v === undefined || v === '') {
      if (key === 'plural') errors.push(fieldErrors.required(`${at}.plural`));
      continue;
    }
    if (typeof v !== 'string') errors.push(fieldErrors.typeInvalid(`${at}.${key}`, v, 'must be a string'));
    else for (const p of isDns1123Label(v)) errors.push(fieldErrors.invalid(`${at}.${key}`, v, p));
  }
  for (const key of ['kind', 'listKind'] as const) {
    const v = names[key];
    if (v === undefined || v === '') {
      if (key === 'kind') errors.push(fieldErrors.required(`${at}.kind`));
    } else if (typeof v !== 'string' || !KIND.test(v)) {
      errors.push(fieldErrors.invalid(`${at}.${key}`, v, 'may have mixed case, but should otherwise match: ^[A-Z][A-Za-z0-9]*$'));
    }
  }
  if (names.kind !== undefined && names.kind === names.listKind) {
    errors.push(fieldErrors.invalid(`${at}.listKind`, names.listKind, 'kind and listKind may not be the same'));
  }
  for (const key of ['shortNames', 'categories'] as const) {
    const list = names[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      errors.push(fieldErrors.typeInvalid(`${at}.${key}`, list, 'must be a list of strings'));
      continue;
    }
    list.forEach((v, i) => {
      const f = fieldPath.index(`${at}.${key}`, i);
      if (typeof v !== 'string') errors.push(fieldErrors.typeInvalid(f, v, 'must be a string'));
      else for (const p of isDns1123Label(v)) errors.push(fieldErrors.invalid(f, v, p));
    });
  }
  return errors;
}

function validateVersions(versions: unknown): FieldError[] {
  const at = 'spec.versions';
  if (!Array.isArray(versions) || versions.length === 0) return [fieldErrors.required(at, 'must have exactly one version marked as storage version')];
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  let storage = 0;
  versions.forEach((v, i) => {
    const vat = fieldPath.index(at, i);
    if (!isObj(v)) {
      errors.push(fieldErrors.typeInvalid(vat, v, 'must be an object'));
      return;
    }
    if (typeof v.name !== 'string' || v.name === '') errors.push(fieldErrors.required(`${vat}.name`));
    else {
      for (const p of isDns1035Label(v.name)) errors.push(fieldErrors.invalid(`${vat}.name`, v.name, p));
      if (seen.has(v.name)) errors.push(fieldErrors.duplicate(`${vat}.name`, v.name));
      seen.add(v.name);
    }
    for (const flag of ['served', 'storage'] as const) {
      if (typeof v[flag] !== 'boolean') errors.push(fieldErrors.required(`${vat}.${flag}`));
    }
    if (v.storage === true) storage++;
    errors.push(...validateVersionSchema(v.schema, `${vat}.schema`));
    errors.push(...validateSubresources(v.subresources, `${vat}.subresources`));
    errors.push(...validatePrinterColumns(v.additionalPrinterColumns, `${vat}.additionalPrinterColumns`));
  });
  if (storage !== 1) errors.push(fieldErrors.invalid(at, storage, 'must have exactly one version marked as storage version'));
  return errors;
}

function validateVersionSchema(schema: unknown, at: string): FieldError[] {
  const root = isObj(schema) ? schema.openAPIV3Schema : undefined;
  const rat = `${at}.openAPIV3Schema`;
  if (!isObj(root)) return [fieldErrors.required(rat, 'schemas are required')];
  const errors: FieldError[] = [];
  if (root.type !== 'object') errors.push(fieldErrors.invalid(`${rat}.type`, root.type, 'must be object at the root'));
  const meta = isObj(root.properties) ? root.properties.metadata : undefined;
  if (isObj(meta)) {
    const extra = Object.keys(meta).filter((k) => !['type', 'properties', 'description'].includes(k));
    const props = isObj(meta.properties) ? Object.keys(meta.properties).filter((k) => k !== 'name' && k !== 'generateName') : [];
    if (extra.length > 0 || props.length > 0) {
      errors.push(fieldErrors.forbidden(`${rat}.properties[metadata]`, 'must not specify anything other than name and generateName, but metadata is implicitly specified'));
    }
  }
  errors.push(...structuralErrors(root, rat, false));
  if (errors.length === 0) errors.push(...defaultErrors(root as JSONSchemaProps, rat));
  return errors;
}

/**
 * A structural schema (apiextensions "Specifying a structural schema"): every node outside value validations
 * (anyOf/allOf/oneOf/not) has a type, unless it is int-or-string or preserves unknown fields; objects have either
 * properties or additionalProperties; arrays have items; no JSON-schema references.
 */
export function structuralErrors(raw: unknown, at: string, inValueValidation: boolean): FieldError[] {
  if (!isObj(raw)) return [fieldErrors.typeInvalid(at, raw, 'must be a schema object')];
  const node = raw as JSONSchemaProps;
  const errors: FieldError[] = [];
  for (const key of FORBIDDEN_KEYWORDS) {
    if (key in node) errors.push(fieldErrors.forbidden(`${at}.${key}`, `${key} is not supported`));
  }
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (!inValueValidation) {
    if (!node.type && !intOrString && !preserve) errors.push(fieldErrors.required(`${at}.type`, 'must not be empty for specified object fields'));
    if (intOrString && node.type) errors.push(fieldErrors.forbidden(`${at}.type`, 'must be empty if x-kubernetes-int-or-string is true'));
  }
  if (node.type !== undefined && !['object', 'array', 'string', 'integer', 'number', 'boolean'].includes(node.type)) {
    errors.push(fieldErrors.notSupported(`${at}.type`, node.type, ['array', 'boolean', 'integer', 'number', 'object', 'string']));
  }
  if (node.properties !== undefined && node.additionalProperties !== undefined && node.additionalProperties !== false) {
    errors.push(fieldErrors.forbidden(`${at}.additionalProperties`, 'additionalProperties and properties are mutual exclusive'));
  }
  if (node.additionalProperties === false) {
    errors.push(fieldErrors.forbidden(`${at}.additionalProperties`, 'must not be false; unknown fields are pruned, not rejected'));
  }
  if (node.type === 'array' && !node.items && !inValueValidation) errors.push(fieldErrors.required(`${at}.items`, 'must be specified'));
  if (node.properties !== undefined) {
    if (!isObj(node.properties)) errors.push(fieldErrors.typeInvalid(`${at}.properties`, node.properties, 'must be a map of schemas'));
    else for (const [k, child] of Object.entries(node.properties)) errors.push(...structuralErrors(child, fieldPath.mapKey(`${at}.properties`, k), inValueValidation));
  }
  if (isObj(node.additionalProperties)) errors.push(...structuralErrors(node.additionalProperties, `${at}.additionalProperties`, inValueValidation));
  if (node.items !== undefined) {
    if (Array.isArray(node.items)) errors.push(fieldErrors.forbidden(`${at}.items`, 'items must be a schema object and not an array'));
    else errors.push(...structuralErrors(node.items, `${at}.items`, inValueValidation));
  }
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const list = node[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) errors.push(fieldErrors.typeInvalid(`${at}.${key}`, list, 'must be a list of schemas'));
    else list.forEach((s, i) => errors.push(...structuralErrors(s, fieldPath.index(`${at}.${key}`, i), true)));
  }
  if (node.not !== undefined) errors.push(...structuralErrors(node.not, `${at}.not`, true));
  if (node.pattern !== undefined) {
    try {
      new RegExp(String(node.pattern), 'u');
    } catch (cause) {
      errors.push(fieldErrors.invalid(`${at}.pattern`, node.pattern, `must be a valid regular expression: ${(cause as Error).message}`));
    }
  }
  return errors;
}

function validateSubresources(sub: unknown, at: string): FieldError[] {
  if (sub === undefined) return [];
  if (!isObj(sub)) return [fieldErrors.typeInvalid(at, sub, 'must be an object')];
  const errors: FieldError[] = [];
  const scale = sub.scale;
  if (scale === undefined) return errors;
  if (!isObj(scale)) return [fieldErrors.typeInvalid(`${at}.scale`, scale, 'must be an object')];
  const paths: Array<[string, string[], boolean]> = [
    ['specReplicasPath', ['.spec.'], true],
    ['statusReplicasPath', ['.status.'], true],
    ['labelSelectorPath', ['.spec.', '.status.'], false],
  ];
  for (const [key, prefixes, required] of paths) {
    const v = scale[key];
    if (v === undefined || v === '') {
      if (required) errors.push(fieldErrors.required(`${at}.scale.${key}`));
    } else if (typeof v !== 'string' || !prefixes.some((p) => v.startsWith(p)) || !/^(\.[A-Za-z0-9_-]+)+$/.test(v)) {
      errors.push(fieldErrors.invalid(`${at}.scale.${key}`, v, `should be a json path under ${prefixes.join(' or ')}`));
    }
  }
  return errors;
}

function validatePrinterColumns(columns: unknown, at: string): FieldError[] {
  if (columns === undefined) return [];
  if (!Array.isArray(columns)) return [fieldErrors.typeInvalid(at, columns, 'must be a list')];
  const errors: FieldError[] = [];
  columns.forEach((c, i) => {
    const cat = fieldPath.index(at, i);
    if (!isObj(c)) {
      errors.push(fieldErrors.typeInvalid(cat, c, 'must be an object'));
      return;
    }
    if (typeof c.name !== 'string' || c.name === '') errors.push(fieldErrors.required(`${cat}.name`));
    if (!PRINTER_TYPES.includes(c.type as string)) errors.push(fieldErrors.notSupported(`${cat}.type`, c.type, PRINTER_TYPES));
    if (c.format !== undefined && !PRINTER_FORMATS.includes(c.format as string)) errors.push(fieldErrors.notSupported(`${cat}.format`, c.format, PRINTER_FORMATS));
    if (typeof c.jsonPath !== 'string' || c.jsonPath === '') errors.push(fieldErrors.required(`${cat}.jsonPath`));
    else if (!c.jsonPath.startsWith('.')) errors.push(fieldErrors.invalid(`${cat}.jsonPath`, c.jsonPath, 'must be a simple json path starting with .'));
    if (c.priority !== undefined && (!Number.isInteger(c.priority) || (c.priority as number) < 0)) {
      errors.push(fieldErrors.invalid(`${cat}.priority`, c.priority, 'must be a non-negative integer'));
    }
  });
  return errors;
}

/** The checker of `default` values; compiled schemas stay cached in it, which is fine for the few CRDs a cluster has. */
const defaultsAjv = newAjv();

/** Every `default` in a (structural) schema must itself be valid for its node, as apiextensions requires. */
function defaultErrors(node: JSONSchemaProps, at: string): FieldError[] {
  const errors: FieldError[] = [];
  if (node.default !== undefined) {
    let valid = false;
    let detail = 'is not valid for its schema';
    try {
      const check = defaultsAjv.compile(toAjvSchema(node));
      valid = check(node.default) === true;
      if (!valid && check.errors?.[0]) detail = `must be valid for its schema: ${check.errors[0].instancePath || '<value>'} ${check.errors[0].message}`;
    } catch (cause) {
      detail = `cannot be checked: ${(cause as Error).message}`;
    }
    if (!valid) errors.push(fieldErrors.invalid(`${at}.default`, node.default, detail));
  }
  for (const [key, child] of Object.entries(node.properties ?? {})) errors.push(...defaultErrors(child, fieldPath.mapKey(`${at}.properties`, key)));
  if (node.items) errors.push(...defaultErrors(node.items, `${at}.items`));
  if (typeof node.additionalProperties === 'object') errors.push(...defaultErrors(node.additionalProperties, `${at}.additionalProperties`));
  return errors;
}

/** Kubernetes version priority: GA before beta before alpha, higher numbers first, non-kube names last alphabetically. */
export function compareKubeVersions(a: string, b: string): number {
  const rank = (v: string): [number, number, number, string] => {
    const m = KUBE_VERSION.exec(v);
    if (!m) return [3, 0, 0, v];
    const stage = m[2] === undefined ? 0 : m[2] === 'beta' ? 1 : 2;
    return [stage, -Number(m[1]), -Number(m[3] ?? 0), v];
  };
  const ra = rank(a);
  const rb = rank(b);
  for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return (ra[i] as number) - (rb[i] as number);
  return ra[3] < rb[3] ? -1 : ra[3] > rb[3] ? 1 : 0;
}

/** The defaults kube-apiserver fills into a CRD: singular and listKind from the kind, conversion strategy None. */
export function defaultCrd(crd: Record<string, unknown>): void {
  const spec = crd.spec;
  if (!isObj(spec)) return;
  const names = spec.names;
  if (isObj(names) && typeof names.kind === 'string') {
    names.singular ??= names.kind.toLowerCase();
    names.listKind ??= `${names.kind}List`;
  }
  spec.conversion ??= { strategy: 'None' };
}
