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
  // Listening before start() finishes: a stop asked for while starting is carried out once there is a server to close.
  let stopAsked = false;
  let stop = (): void => void (stopAsked = true);
  process.on('message', (m: unknown) => {
    if (m === STOP_MESSAGE) stop();
  });
  process.on('disconnect', () => stop());
  const server = await start(JSON.parse(json) as StartOptions);
  let closing: Promise<void> | undefined;
  stop = (): void =>
    void (closing ??= server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`berth: API server worker ${process.pid} failed to close:`, err);
        process.exit(1);
      },
    ));
  if (stopAsked) return stop();
  const { url, port, kubeconfigPath, adminToken, caPem } = server;
  const ready: WorkerReady = { type: 'berth-apiserver-ready', url, port, kubeconfigPath, adminToken, caPem };
  process.send(ready);
};

main().catch((err: unknown) => {
  console.error(`berth: API server worker ${process.pid} could not start:`, err);
  process.exit(1);
});
