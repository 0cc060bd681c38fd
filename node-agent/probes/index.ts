export type { ProbeSpec, ProbeCheck, ProbeKind } from './types';
export { tcpCheck, httpCheck, execCheck, checkFor } from './checks';
export { ProbeWorker } from './worker';
export type { ProbeWorkerOptions } from './worker';
