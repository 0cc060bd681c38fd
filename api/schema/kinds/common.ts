/** Schema pieces several built-in kinds share. */
import { arr, int32, int64, map, obj, oneOfValues, str } from './dsl';
import type { JSONSchemaProps } from '../types';

export const PORT_RANGE = { minimum: 1, maximum: 65535 } as const;

export const port = (description: string): JSONSchemaProps => int32(description, PORT_RANGE);

export const protocol = (description: string): JSONSchemaProps =>
  oneOfValues(description, ['TCP', 'UDP', 'SCTP'], { default: 'TCP' });

export const labelSelectorSchema: JSONSchemaProps = obj(
  'A label selector is a label query over a set of objects. The result of matchLabels and matchExpressions are ANDed. An empty label selector matches all objects.',
  {
    matchLabels: map('matchLabels is a map of {key,value} pairs. A single {key,value} in the matchLabels map is equivalent to an element of matchExpressions, whose key field is "key", the operator is "In", and the values array contains only "value".'),
    matchExpressions: arr(
      'matchExpressions is a list of label selector requirements. The requirements are ANDed.',
      obj(
        'A label selector requirement is a selector that contains values, a key, and an operator that relates the key and values.',
        {
          key: str('key is the label key that the selector applies to.'),
          operator: oneOfValues("operator represents a key's relationship to a set of values.", ['In', 'NotIn', 'Exists', 'DoesNotExist']),
          values: arr(
            'values is an array of string values. If the operator is In or NotIn, the values array must be non-empty. If the operator is Exists or DoesNotExist, the values array must be empty.',
            { type: 'string' },
          ),
        },
        { required: ['key', 'operator'] },
      ),
    ),
  },
  { 'x-kubernetes-map-type': 'atomic' },
);

export const objectReferenceSchema = (description: string): JSONSchemaProps =>
  obj(description, {
    apiVersion: str('API version of the referent.'),
    kind: str('Kind of the referent.'),
    name: str('Name of the referent.'),
    namespace: str('Namespace of the referent.'),
    uid: str('UID of the referent.'),
    resourceVersion: str('Specific resourceVersion to which this reference is made, if any.'),
    fieldPath: str('If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as spec.template.spec.image.'),
  });

/** Every status has one: the metadata.generation the controller last acted on. */
export const observedGenerationSchema: JSONSchemaProps = int64('The metadata.generation the controller last acted on; status is stale while it is lower than metadata.generation.', { minimum: 0 });
