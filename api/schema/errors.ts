/**
 * Field errors in Kubernetes' wording (k8s.io/apimachinery/pkg/util/validation/field), so clients that parse
 * `Status.details.causes` or show `message` to users see what they would see against a real cluster.
 */
import type { FieldError, ResourceInfo } from './types';

/** Thrown by SchemaRegistry.addCrd (and friends) for a definition that cannot be served: the API answers 422. */
export class SchemaInvalidError extends Error {
  constructor(
    message: string,
    readonly errors: FieldError[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SchemaInvalidError';
  }
}

/** How Kubernetes prints a bad value inside a message: strings quoted, everything else as compact JSON, long values cut. */
export function formatValue(value: unknown): string {
  let text: string;
  if (value === undefined) text = 'null';
  else if (typeof value === 'string') text = JSON.stringify(value);
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

const withDetail = (head: string, detail?: string): string => (detail ? `${head}: ${detail}` : head);

export const fieldErrors = {
  required: (field: string, detail?: string): FieldError => ({
    field,
    reason: 'FieldValueRequired',
    message: `${withDetail('Required value', detail)}`,
  }),
  invalid: (field: string, value: unknown, detail: string): FieldError => ({
    field,
    reason: 'FieldValueInvalid',
    message: `Invalid value: ${formatValue(value)}: ${detail}`,
  }),
  typeInvalid: (field: string, value: unknown, detail: string): FieldError => ({
    field,
    reason: 'FieldValueTypeInvalid',
    message: `Invalid value: ${formatValue(value)}: ${detail}`,
  }),
  notSupported: (field: string, value: unknown, supported: readonly unknown[]): FieldError => ({
    field,
    reason: 'FieldValueNotSupported',
    message: `Unsupported value: ${formatValue(value)}: supported values: ${supported.map(formatValue).join(', ')}`,
  }),
  duplicate: (field: string, value: unknown): FieldError => ({
    field,
    reason: 'FieldValueDuplicate',
    message: `Duplicate value: ${formatValue(value)}`,
  }),
  forbidden: (field: string, detail: string): FieldError => ({
    field,
    reason: 'FieldValueForbidden',
    message: `Forbidden: ${detail}`,
  }),
  tooLong: (field: string, max: number, unit = 'bytes'): FieldError => ({
    field,
    reason: 'FieldValueTooLong',
    message: `Too long: may not be more than ${max} ${unit}`,
  }),
  tooMany: (field: string, actual: number, max: number): FieldError => ({
    field,
    reason: 'FieldValueTooMany',
    message: `Too many: ${actual}: must have at most ${max} items`,
  }),
};

/** `spec.image: Required value` — a field error as one line (what Kubernetes puts in Status.message). */
export function fieldErrorText(e: FieldError): string {
  return e.field ? `${e.field}: ${e.message}` : e.message;
}

/** `Container.berth.dev "web" is invalid: [spec.image: Required value, ...]` — the Status.message of a 422. */
export function invalidMessage(info: Pick<ResourceInfo, 'kind' | 'group'>, name: string | undefined, errors: readonly FieldError[]): string {
  const qualifiedKind = info.group ? `${info.kind}.${info.group}` : info.kind;
  const texts = errors.map(fieldErrorText);
  const list = texts.length === 1 ? texts[0] : `[${texts.join(', ')}]`;
  return `${qualifiedKind} ${JSON.stringify(name ?? '')} is invalid: ${list}`;
}

/** The Status.message of a 400 under fieldValidation=Strict, worded as kube-apiserver words it. */
export function strictDecodingMessage(unknownFields: readonly string[]): string {
  return `strict decoding error: ${unknownFieldWarnings(unknownFields).join(', ')}`;
}

/** One warning text per unknown field (fieldValidation=Warn); send each as `Warning: 299 - "<text>"`. */
export function unknownFieldWarnings(unknownFields: readonly string[]): string[] {
  return unknownFields.map((f) => `unknown field ${JSON.stringify(f)}`);
}
