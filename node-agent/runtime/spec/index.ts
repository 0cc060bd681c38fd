/** OCI runtime-spec types, config.json validation and Berth's secure default config. */
export * from './oci';
export { SpecError, parseBundleConfig, loadBundle, loadBundleAsync, KNOWN_CAPABILITIES } from './validate';
export { hostHardLimits, RLIMIT_NAMES } from './rlimits';
export { defaultSpec, DEFAULT_CAPABILITIES, DEFAULT_ENV, DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from './defaults';
export type { DefaultSpecOptions } from './defaults';
