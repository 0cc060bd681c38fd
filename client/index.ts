/** The Berth API client: kubeconfig loading, a typed HTTP client with watch, and the resource types. */
export * from './types';
export * from './errors';
export { ApiClient } from './client';
export type { RequestOptions, RawResponse, ListOptions, WriteOptions, DeleteOptions, WatchOptions, WatchHandle, WatchEventType, PatchType } from './client';
export { loadKubeconfig, defaultKubeconfigPath } from './kubeconfig';
export type { ClientConfig } from './kubeconfig';
export { parseQuantity, parseCpuMillis, parseBytes, QuantityError } from './quantity';
export { ExecChannel, encodeFrame, encodeResize, parseResize, FrameDecoder, EXEC_CONTENT_TYPE } from './exec-stream';
export type { ExecFrame, TerminalSize } from './exec-stream';
export { listAndWatch } from './reflector';
export type { Reflector, ReflectorHandlers, ReflectorOptions } from './reflector';
