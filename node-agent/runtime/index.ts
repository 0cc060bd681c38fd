/** The container runtime: the ContainerRuntime contract and Berth's implementation of it. */
export * from './types';
export { BerthRuntime, DEFAULT_STATE_ROOT, type BerthRuntimeOptions } from './berth';
export { loadNative, NativeError, type NativeRuntime } from './native';
