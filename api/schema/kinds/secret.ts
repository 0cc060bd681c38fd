/** Secret: small confidential data (keys → bytes); encrypted at rest, mounted into Containers on tmpfs. */
import { bool, map, str } from './dsl';
import { AGE_COLUMN, type KindDefinition } from './types';

export const secret: KindDefinition = {
  kind: 'Secret',
  plural: 'secrets',
  categories: ['berth'],
  scope: 'Namespaced',
  description: 'Secret holds secret data of a certain type. Like in Kubernetes it has no spec: data and stringData are top-level. The API server encrypts it at rest.',
  properties: {
    data: map('Data contains the secret data. Each key must consist of alphanumeric characters, \'-\', \'_\' or \'.\'. The serialized form of the secret data is a base64 encoded string.', {
      type: 'string',
      format: 'byte',
    }),
    stringData: map('stringData allows specifying non-binary secret data in string form. It is provided as a write-only input field for convenience: all keys and values are merged into the data field on write, overwriting any existing values. The stringData field is never output when reading from the API.'),
    type: str('Used to facilitate programmatic handling of secret data (Opaque, kubernetes.io/tls, kubernetes.io/dockerconfigjson, ...).', { default: 'Opaque' }),
    immutable: bool('Immutable, if set to true, ensures that data stored in the Secret cannot be updated (only object metadata can be modified).'),
  },
  statusSubresource: false,
  printerColumns: [{ name: 'Type', type: 'string', jsonPath: '.type' }, AGE_COLUMN],
};
