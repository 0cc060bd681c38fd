/**
 * A few constructors that keep the built-in kinds' schemas short and every field described (descriptions are what
 * `kubectl explain` prints). They produce plain JSONSchemaProps; manifests/crds/*.yaml are generated from them.
 */
import type { JSONSchemaProps } from '../types';

type Extra = Partial<JSONSchemaProps>;

export const str = (description: string, extra: Extra = {}): JSONSchemaProps => ({ type: 'string', description, ...extra });
export const int = (description: string, extra: Extra = {}): JSONSchemaProps => ({ type: 'integer', description, ...extra });
export const int32 = (description: string, extra: Extra = {}): JSONSchemaProps => int(description, { format: 'int32', ...extra });
export const int64 = (description: string, extra: Extra = {}): JSONSchemaProps => int(description, { format: 'int64', ...extra });
export const num = (description: string, extra: Extra = {}): JSONSchemaProps => ({ type: 'number', description, ...extra });
export const bool = (description: string, extra: Extra = {}): JSONSchemaProps => ({ type: 'boolean', description, ...extra });
export const time = (description: string): JSONSchemaProps => str(description, { format: 'date-time' });
export const oneOfValues = (description: string, values: readonly string[], extra: Extra = {}): JSONSchemaProps =>
  str(description, { enum: [...values], ...extra });

export const obj = (description: string, properties: Record<string, JSONSchemaProps>, extra: Extra = {}): JSONSchemaProps => ({
  type: 'object',
  description,
  properties,
  ...extra,
});

export const arr = (description: string, items: JSONSchemaProps, extra: Extra = {}): JSONSchemaProps => ({
  type: 'array',
  description,
  items,
  ...extra,
});

export const map = (description: string, values: JSONSchemaProps = { type: 'string' }, extra: Extra = {}): JSONSchemaProps => ({
  type: 'object',
  description,
  additionalProperties: values,
  ...extra,
});

/** A value that is either an integer or a string such as "25%" (IntOrString in Kubernetes). */
export const intOrString = (description: string, extra: Extra = {}): JSONSchemaProps => ({
  description,
  'x-kubernetes-int-or-string': true,
  anyOf: [{ type: 'integer' }, { type: 'string' }],
  ...extra,
});

/** A resource quantity ("500m", "1Gi", 2): int-or-string with the Kubernetes quantity syntax. */
export const quantity = (description: string): JSONSchemaProps =>
  intOrString(description, {
    pattern: '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$',
  });

/** metav1.Condition, as controllers write it through `/status`. */
export const conditionSchema: JSONSchemaProps = obj(
  'Condition contains details for one aspect of the current state of this object.',
  {
    type: str('type of condition in CamelCase, e.g. Ready, Available, Progressing.', { maxLength: 316 }),
    status: oneOfValues('status of the condition, one of True, False, Unknown.', ['True', 'False', 'Unknown']),
    observedGeneration: int64('observedGeneration represents the .metadata.generation that the condition was set based upon.', { minimum: 0 }),
    lastTransitionTime: time('lastTransitionTime is the last time the condition transitioned from one status to another.'),
    reason: str('reason contains a programmatic identifier indicating the reason for the condition\'s last transition, in CamelCase.', { maxLength: 1024 }),
    message: str('message is a human readable message indicating details about the transition.', { maxLength: 32768 }),
  },
  { required: ['type', 'status'] },
);

export const conditionsSchema = (description: string): JSONSchemaProps =>
  arr(description, conditionSchema, { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] });
