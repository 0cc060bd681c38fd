export { ApiSecretSource } from './source';
export type { SecretSource, SecretData } from './source';
export { SecretVolumes, SecretNotReadyError } from './volumes';
export type { SecretRefs, PreparedSecrets, EnvVar } from './volumes';
