/** OCI runtime-spec types, config.json validation and Berth's secure default config. */
export * from './oci';
export { SpecError, parseBundleConfig, loadBundle } from './validate';
export { defaultSpec, DEFAULT_CAPABILITIES, DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from './defaults';
export type { DefaultSpecOptions } from './defaults';
