/**
 * A one-node cluster in the test process: a real API server (temp $BERTH_HOME, port 0), the scheduler, the
 * service controller and a node agent running real containers with Berth's runtime and a temp image store.
 * `stop()` deletes every Container, waits until the agent has cleaned up, and removes all temp state.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Container, RESOURCES } from '../../client';
import { Scheduler } from '../../controllers/scheduler';
import { ServiceController } from '../../controllers/service';
import { FileLogProvider, IsolatedNetworkProvider, NodeAgent, StoreImageProvider } from '../../node-agent/agent';
import type { BackOffOptions } from '../../node-agent/agent/restart-policy';
import { ImageStore } from '../../node-agent/images/store';
import { BerthRuntime } from '../../node-agent/runtime';
import { ApiSecretSource, SecretVolumes } from '../../node-agent/secrets';
import { startApiServer, TestApiServer } from './apiserver';

export interface TestCluster {
  readonly api: TestApiServer;
  readonly agent: NodeAgent;
  readonly runtime: BerthRuntime;
  readonly nodeName: string;
  readonly logs: FileLogProvider;
  /** A new agent process-equivalent on the same state (live-restore tests). */
  restartAgent(): Promise<void>;
  stop(): Promise<void>;
}

export async function startCluster(opts: { backoff?: BackOffOptions } = {}): Promise<TestCluster> {
  const api = await startApiServer();
  const state = path.join(api.home, 'node');
  const runtime = new BerthRuntime({ root: path.join(state, 'runtime') });
  const store = new ImageStore({ root: path.join(state, 'images') });
  const logs = new FileLogProvider(path.join(state, 'logs'));
  const nodeName = `berth-test-${path.basename(api.home).slice(-6).toLowerCase()}`;
  const makeAgent = () =>
    new NodeAgent({
      client: api.client,
      nodeName,
      stateDir: state,
      runtime,
      images: new StoreImageProvider(store),
      network: new IsolatedNetworkProvider(),
      logs,
      secrets: new SecretVolumes(path.join(state, 'secrets'), new ApiSecretSource(api.client)),
      backoff: opts.backoff ?? { initialMs: 200, maxMs: 1000, resetAfterMs: 60_000 },
      heartbeatMs: 1000,
    });
  let agent = makeAgent();
  const scheduler = new Scheduler(api.client);
  const services = new ServiceController(api.client);
  await agent.start();
  await scheduler.start();
  await services.start();
  const cluster = {
    api,
    get agent() {
      return agent;
    },
    runtime,
    nodeName,
    logs,
    async restartAgent() {
      agent.stop();
      agent = makeAgent();
      await agent.start();
    },
    async stop() {
      await services.stop();
      await scheduler.stop();
      const all = await api.client.list<Container>(RESOURCES.containers, { namespace: '' });
      await Promise.all(all.items.map((c) => api.client.delete(RESOURCES.containers, c.metadata.name!, { namespace: c.metadata.namespace }).catch(() => undefined)));
      const end = Date.now() + 30_000;
      while ((await api.client.list(RESOURCES.containers, { namespace: '' })).items.length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      agent.stop();
      for (const s of await runtime.list()) await runtime.delete(s.id, { force: true }).catch(() => undefined);
      await api.stop();
      fs.rmSync(state, { recursive: true, force: true });
    },
  };
  return cluster as TestCluster;
}
