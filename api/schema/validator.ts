/**
 * Validation of objects against a CRD `openAPIV3Schema` with ajv: the OpenAPI dialect is translated to what ajv
 * understands (int-or-string, nullable, boolean exclusiveMinimum, Kubernetes formats), every error is collected
 * (`allErrors`), and ajv's JSON-pointer paths and messages become Kubernetes field errors.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { fieldErrors } from './errors';
import { objectMetaSchema } from './object-meta';
import { fieldPath } from './structural';
import type { FieldError, JSONSchemaProps } from './types';

/** Formats Kubernetes checks in CRD schemas that we check too; any other format is ignored, as Kubernetes does. */
const CHECKED_FORMATS = new Set(['date-time', 'date', 'uri', 'email', 'hostname', 'ipv4', 'ipv6', 'uuid', 'byte', 'cidr', 'duration', 'int32', 'int64', 'float', 'double']);

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const GO_DURATION = /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$|^0$/;
const CIDR = /^(\d{1,3}(\.\d{1,3}){3}\/\d{1,2}|[0-9a-fA-F:]+\/\d{1,3})$/;

export function newAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, verbose: true, allowUnionTypes: true });
  addFormats(ajv, ['date-time', 'date', 'uri', 'email', 'hostname', 'ipv4', 'ipv6', 'uuid']);
  ajv.addFormat('byte', BASE64);
  ajv.addFormat('duration', GO_DURATION);
  ajv.addFormat('cidr', CIDR);
  for (const f of ['int32', 'int64', 'float', 'double']) ajv.addFormat(f, { type: 'number', validate: () => true });
  return ajv;
}

/** The whole-object schema: the CRD schema with `metadata` replaced by ObjectMeta (a CRD may not describe it). */
export function resourceSchema(schema: JSONSchemaProps): JSONSchemaProps {
  return {
    ...schema,
    type: 'object',
    properties: { ...schema.properties, apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: objectMetaSchema },
  };
}

/** Translates one OpenAPI v3 (Kubernetes flavour) schema node into a JSON Schema draft-07 node for ajv. */
export function toAjvSchema(node: JSONSchemaProps): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const types: string[] = [];
  if (node['x-kubernetes-int-or-string']) types.push('integer', 'string');
  else if (node.type) types.push(node.type);
  if (node.nullable && types.length > 0) types.push('null');
  if (types.length > 0) out.type = types.length === 1 ? types[0] : types;
  for (const key of ['enum', 'pattern', 'minimum', 'maximum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'minProperties', 'maxProperties', 'uniqueItems', 'required', 'multipleOf'] as const) {
    if (node[key as keyof JSONSchemaProps] !== undefined) out[key] = node[key as keyof JSONSchemaProps];
  }
  if (node.enum && node.nullable) out.enum = [...node.enum, null];
  if (node.exclusiveMinimum === true && node.minimum !== undefined) {
    out.exclusiveMinimum = node.minimum;
    delete out.minimum;
  }
  if (node.exclusiveMaximum === true && node.maximum !== undefined) {
    out.exclusiveMaximum = node.maximum;
    delete out.maximum;
  }
  if (node.format && CHECKED_FORMATS.has(node.format)) out.format = node.format;
  if (node.properties) {
    out.properties = Object.fromEntries(Object.entries(node.properties).map(([k, v]) => [k, toAjvSchema(v)]));
  }
  if (typeof node.additionalProperties === 'object') out.additionalProperties = toAjvSchema(node.additionalProperties);
  if (node.items) out.items = toAjvSchema(node.items);
  // int-or-string nodes often also carry `anyOf: [{type: integer}, {type: string}]`; the union type already says it.
  if (!node['x-kubernetes-int-or-string']) {
    for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
      if (node[key]) out[key] = node[key]!.map(toAjvSchema);
    }
  }
  if (node.not) out.not = toAjvSchema(node.not);
  return out;
}

export interface CompiledValidator {
  (obj: unknown): FieldError[];
}

/** Compiles a resource's whole-object schema once; the returned function maps every ajv error to a field error. */
export function compileValidator(ajv: Ajv, schema: JSONSchemaProps): CompiledValidator {
  const full = resourceSchema(schema);
  const validate: ValidateFunction = ajv.compile(toAjvSchema(full));
  return (obj: unknown) => {
    if (validate(obj)) return [];
    return toFieldErrors(full, validate.errors ?? []);
  };
}

/** Translates a JSON pointer into a Kubernetes field path, telling struct fields (`.x`) from map keys (`[x]`) by the schema. */
export function pointerToFieldPath(schema: JSONSchemaProps, pointer: string): string {
  if (pointer === '') return '';
  let node: JSONSchemaProps | undefined = schema;
  let path = '';
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node?.type === 'array' || (node?.items && /^\d+$/.test(seg))) {
      path = fieldPath.index(path, Number(seg));
      node = node?.items;
    } else if (node?.properties?.[seg] || !node || typeof node.additionalProperties !== 'object') {
      path = fieldPath.child(path, seg);
      node = node?.properties?.[seg];
    } else {
      path = fieldPath.mapKey(path, seg);
      node = node.additionalProperties as JSONSchemaProps;
    }
  }
  return path;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** Errors inside anyOf/oneOf branches are noise once the combinator itself reports; keep only the combinator's. */
function isInsideCombinatorBranch(e: ErrorObject, all: ErrorObject[]): boolean {
  return all.some(
    (other) =>
      other !== e &&
      (other.keyword === 'anyOf' || other.keyword === 'oneOf') &&
      e.schemaPath.startsWith(`${other.schemaPath}/`),
  );
}

function toFieldErrors(schema: JSONSchemaProps, errors: ErrorObject[]): FieldError[] {
  return errors
    .filter((e) => !isInsideCombinatorBranch(e, errors))
    .map((e) => toFieldError(pointerToFieldPath(schema, e.instancePath), e));
}

function toFieldError(at: string, e: ErrorObject): FieldError {
  const p = e.params as Record<string, unknown>;
  const value = e.data;
  const inBody = `${at || '<root>'} in body`;
  switch (e.keyword) {
    case 'required':
      return fieldErrors.required(fieldPath.child(at, String(p.missingProperty)));
    case 'type': {
      const want = Array.isArray(p.type) ? (p.type as string[]).filter((t) => t !== 'null').join(' or ') : String(p.type);
      return fieldErrors.typeInvalid(at, jsonType(value), `${inBody} must be of type ${want}: ${JSON.stringify(jsonType(value))}`);
    }
    case 'enum':
      return fieldErrors.notSupported(at, value, (p.allowedValues as unknown[]).filter((v) => v !== null));
    case 'minimum':
    case 'exclusiveMinimum':
      return fieldErrors.invalid(at, value, `${inBody} should be greater than ${e.keyword === 'minimum' ? 'or equal to ' : ''}${p.limit}`);
    case 'maximum':
    case 'exclusiveMaximum':
      return fieldErrors.invalid(at, value, `${inBody} should be less than ${e.keyword === 'maximum' ? 'or equal to ' : ''}${p.limit}`);
    case 'maxLength':
      return fieldErrors.tooLong(at, Number(p.limit), 'characters');
    case 'minLength':
      return fieldErrors.invalid(at, value, `${inBody} should be at least ${p.limit} chars long`);
    case 'maxItems':
      return fieldErrors.tooMany(at, Array.isArray(value) ? value.length : 0, Number(p.limit));
    case 'minItems':
      return fieldErrors.invalid(at, value, `${inBody} should have at least ${p.limit} items`);
    case 'maxProperties':
      return fieldErrors.tooMany(at, value && typeof value === 'object' ? Object.keys(value).length : 0, Number(p.limit));
    case 'minProperties':
      return fieldErrors.invalid(at, value, `${inBody} should have at least ${p.limit} properties`);
    case 'pattern':
      return fieldErrors.invalid(at, value, `${inBody} should match '${p.pattern}'`);
    case 'format':
      return fieldErrors.invalid(at, value, `${inBody} must be of type ${p.format}: ${JSON.stringify(value)}`);
    case 'uniqueItems':
      return fieldErrors.duplicate(fieldPath.index(at, Number(p.i)), Array.isArray(value) ? value[Number(p.i)] : value);
    case 'multipleOf':
      return fieldErrors.invalid(at, value, `${inBody} should be a multiple of ${p.multipleOf}`);
    case 'oneOf':
      return fieldErrors.invalid(at, value, `${inBody} must validate one and only one schema (oneOf)`);
    case 'anyOf':
      return fieldErrors.invalid(at, value, `${inBody} must validate at least one schema (anyOf)`);
    case 'not':
      return fieldErrors.invalid(at, value, `${inBody} must not validate the schema (not)`);
    default:
      return fieldErrors.invalid(at, value, `${inBody} ${e.message ?? 'is invalid'}`);
  }
}
