/**
 * One API server worker process (see workers.ts): start() with the options the primary passed, report that it
 * serves, close when the primary asks (or is gone).
 */
import { start, type StartOptions } from './start';
import { STOP_MESSAGE, WORKER_OPTIONS_ENV, type WorkerReady } from './workers';

const main = async (): Promise<void> => {
  const json = process.env[WORKER_OPTIONS_ENV];
  if (!json || !process.send) throw new Error(`not started by the API server primary (no ${WORKER_OPTIONS_ENV} or IPC channel)`);
  // A terminal's Ctrl-C reaches every process of the group: the primary decides when and in which order workers stop.
  process.on('SIGINT', () => undefined);
  const server = await start(JSON.parse(json) as StartOptions);
  let closing: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (closing ??= server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`berth: API server worker ${process.pid} failed to close:`, err);
        process.exit(1);
      },
    ));
  process.on('message', (m: unknown) => {
    if (m === STOP_MESSAGE) void stop();
  });
  process.on('disconnect', () => void stop());
  const { url, port, kubeconfigPath, adminToken, caPem } = server;
  const ready: WorkerReady = { type: 'berth-apiserver-ready', url, port, kubeconfigPath, adminToken, caPem };
  process.send(ready);
};

main().catch((err: unknown) => {
  console.error(`berth: API server worker ${process.pid} could not start:`, err);
  process.exit(1);
});
