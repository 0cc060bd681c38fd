/** Berth's own OCI runtime (native/ through ffi-rs). */
export { BerthRuntime, type BerthRuntimeOptions } from './runtime';
export { DEFAULT_STATE_ROOT } from './state-dir';
