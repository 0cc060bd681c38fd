import * as os from 'node:os';
import { ApiClient } from '../client';
import { NetworkController } from './network';
import { LeaderElector, leaseLockFor } from './runtime';
import { Scheduler } from './scheduler';
import { ServiceController } from './service';

export interface RunningControllers {
  stop(): Promise<void>;
}

export interface ControllerManagerOptions {
  /** Identity in the leader Lease; defaults to host and pid. */
  readonly identity?: string;
  /** Namespace of the leader Lease (must exist). */
  readonly leaseNamespace?: string;
}

/**
 * The controller manager (`berth controllers`, or in-process under `berth up`): the scheduler, the service
 * controller and the network controller, active only while this process holds the leader Lease, so several managers can run for failover.
 */
export async function startControllers(client: ApiClient, opts: ControllerManagerOptions = {}): Promise<RunningControllers> {
  let running: Array<{ stop(): Promise<void> }> = [];
  let starting: Promise<void> = Promise.resolve();
  const elector = new LeaderElector({
    lock: leaseLockFor(client, opts.leaseNamespace ?? 'default', 'berth-controller-manager'),
    identity: opts.identity ?? `${os.hostname()}-${process.pid}`,
    onStartedLeading: () => {
      starting = (async () => {
        const scheduler = new Scheduler(client);
        const services = new ServiceController(client);
        const networks = new NetworkController(client);
        await scheduler.start();
        await services.start();
        await networks.start();
        running = [scheduler, services, networks];
      })();
    },
    onStoppedLeading: () => {
      void starting.then(() => Promise.all(running.splice(0).map((c) => c.stop())));
    },
  });
  elector.start();
  return {
    async stop() {
      elector.stop();
      await starting;
      await Promise.all(running.splice(0).map((c) => c.stop()));
    },
  };
}
