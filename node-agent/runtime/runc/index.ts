/** The runc backend behind `ContainerRuntime`. */
export { RuncRuntime, RUNC_STATE_ROOT } from './runtime';
export { RuncError, RUNC_BINARY } from './command';
