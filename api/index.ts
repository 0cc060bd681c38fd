/** The Berth API server: the express app (createApp) and the process that serves it (start). */
export { createApp, VERSION_INFO } from './server/app';
export type { AppDeps, ApiApp } from './server/app';
export { start, serve, defaultHome } from './server/start';
export type { StartOptions, RunningServer } from './server/start';
export { startWorkers, checkWorkerCount } from './server/workers';
export type { ApiEndpoint, RunningWorkers } from './server/workers';
export { ApiError } from './server/errors';
