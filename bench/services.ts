/**
 * `npm run bench:services`: a Service scaled 0→100→0 (time until all ready / all gone), a rolling update of 100
 * replicas, and the service proxy's throughput and added p99 latency against requests sent straight to one
 * container (bench/proxy-compare: new connections to httpd through the Service's port, also against direct requests
 * spread over the same replicas, and through a port over that one container only; the added latency also
 * at a fixed rate below saturation; round trips on kept-alive connections to an echo server). One node in this process (API server, controllers, agent); busybox is on the node
 * before the scale-up. The last line is one JSON object.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { start } from '../api';
import { ApiClient, Container, KubeObject, loadKubeconfig, RESOURCES, Service } from '../client';
import { startControllers } from '../controllers/main';
import { startAgent } from '../node-agent/main';
import { ServiceProxy } from '../node-agent/proxy';
import { proxyRelay } from '../node-agent/proxy/relay';
import { compareProxy, describe, keptAliveRoundTrips, newConnectionAtRate, newConnectionPerRequest } from './proxy-compare';
import { describePhases, formatPhases, scrapeMetrics } from './start-phases';
import { round } from './stats';
import { waitFor } from './wait';

const NS = 'default';
const PORT = 18080 + Math.floor(Math.random() * 1000);
/** The open-loop rate at which the proxy's added latency is measured: a busy port, about a quarter of what one httpd container answers at saturation. */
const LATENCY_RATE = 1000;

const web = (replicas: number, version: string): KubeObject => ({
  metadata: { name: 'web', namespace: NS },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { image: 'busybox', command: ['sh', '-c', `mkdir -p /www && echo ${version} > /www/index.html && exec httpd -f -p 8080 -h /www`], terminationGracePeriodSeconds: 1 },
    },
    ports: [{ port: 8080, publishedPort: PORT }],
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
  },
});

/** A TCP echo server (one process per connection), for round trips on kept-alive connections through the proxy. */
const echo: KubeObject = {
  metadata: { name: 'echo', namespace: NS },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'echo' } },
    template: { metadata: { labels: { app: 'echo' } }, spec: { image: 'busybox', command: ['nc', '-ll', '-p', '7', '-e', 'cat'], terminationGracePeriodSeconds: 1, readinessProbe: { tcpSocket: { port: 7 }, periodSeconds: 1 } } },
    ports: [{ port: 7, publishedPort: PORT + 1000 }],
  },
};

async function main(): Promise<void> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-svc-'));
  const server = await start({ home, port: 0, address: '127.0.0.1', store: 'sqlite' });
  const client = new ApiClient(loadKubeconfig(server.kubeconfigPath));
  const controllers = await startControllers(client);
  const agent = await startAgent({ client, home, nodeName: 'bench' });
  const svcStatus = async () => ((await client.get<Service>(RESOURCES.services, 'web', NS)).status ?? {}) as { readyReplicas?: number; currentRevision?: string; updateRevision?: string; rollout?: { phase?: string } };
  const containers = async () => (await client.list<Container>(RESOURCES.containers, { namespace: NS, labelSelector: 'berth.dev/service=web' })).items;
  try {
    // The node as after any earlier use: busybox seeded and unpacked, the namespace's network up. The scale-up then
    // measures starting containers (a first-ever container also seeds the image: ~1-3 s more, once).
    await client.create(RESOURCES.containers, { metadata: { name: 'warm-up', namespace: NS }, spec: { image: 'busybox', command: ['true'], restartPolicy: 'Never' } });
    await waitFor(async () => (await client.get<Container>(RESOURCES.containers, 'warm-up', NS)).status?.phase === 'Succeeded', 'the warm-up container');
    await client.delete(RESOURCES.containers, 'warm-up', { namespace: NS });
    await waitFor(async () => (await client.list(RESOURCES.containers, { namespace: NS })).items.length === 0, 'the warm-up container gone');

    await client.create(RESOURCES.services, web(0, 'v1'));
    const phasesBefore = await scrapeMetrics(agent.startTimings.metrics);
    const cpuBefore = process.cpuUsage();
    await client.patch(RESOURCES.services, 'web', { spec: { replicas: 100 } }, { namespace: NS, subresource: 'scale' });
    const up = await waitFor(async () => (await svcStatus()).readyReplicas === 100, '100 ready', 600_000, 20);
    const cpu = process.cpuUsage(cpuBefore);
    const upPhases = describePhases(phasesBefore, await scrapeMetrics(agent.startTimings.metrics));
    const cpuPerContainerMs = round((cpu.user + cpu.system) / 1000 / 100);
    console.log(`scale 0→100: all ready in ${up} ms (load average ${os.loadavg()[0].toFixed(1)})`);
    console.log(`    agent phases, mean ms: ${formatPhases(upPhases)}; CPU ms per container (API server, controllers and agent: this process): ${cpuPerContainerMs}`);

    // The proxy over the 100 against one container directly: new connections to httpd, then round trips on kept-alive connections to an echo server.
    const ipOf = (c: Container) => (c.status as { ip?: string } | undefined)?.ip;
    const replicas = (await containers()).filter(ipOf);
    const one = replicas[0];
    const proxyPid = () => proxyRelay.pid;
    const perRequest = await compareProxy({ direct: { host: ipOf(one)!, port: 8080 }, proxied: { host: '127.0.0.1', port: PORT }, client: newConnectionPerRequest, proxyPid });
    console.log(describe('proxy, new connection per request (httpd)', perRequest));
    const atRate = await compareProxy({ direct: { host: ipOf(one)!, port: 8080 }, proxied: { host: '127.0.0.1', port: PORT }, client: newConnectionAtRate(LATENCY_RATE), proxyPid });
    console.log(describe(`proxy, new connection per request at ${LATENCY_RATE} req/s (open loop: latency below saturation)`, atRate));
    // Spreading over 100 replicas costs by itself (100 cold httpd processes and veths where direct requests find one
    // hot): the same spread without the proxy, and the proxy over that one container only.
    const spread = await compareProxy({ direct: replicas.map((c) => ({ host: ipOf(c)!, port: 8080 })), proxied: { host: '127.0.0.1', port: PORT }, client: newConnectionPerRequest, proxyPid });
    console.log(describe('proxy vs direct requests spread over the same 100 replicas, new connection per request (httpd)', spread));
    const alone = new ServiceProxy({ port: 0, httpAware: true });
    const alonePort = await alone.listen();
    alone.setEndpoints([{ id: one.metadata.name!, host: ipOf(one)!, port: 8080, weight: 1, group: 'bench' }]);
    const sameContainer = await compareProxy({ direct: { host: ipOf(one)!, port: 8080 }, proxied: { host: '127.0.0.1', port: alonePort }, client: newConnectionPerRequest, proxyPid });
    await alone.close();
    console.log(describe('proxy over that one container only, new connection per request (httpd)', sameContainer));
    await client.create(RESOURCES.services, echo);
    const echoContainer = async () => (await client.list<Container>(RESOURCES.containers, { namespace: NS, labelSelector: 'berth.dev/service=echo' })).items.find((c) => ipOf(c) && c.status?.ready);
    await waitFor(async () => (await echoContainer()) !== undefined && (await client.get<Service>(RESOURCES.services, 'echo', NS)).status?.readyReplicas === 1, 'the echo server');
    const keptAlive = await compareProxy({ direct: { host: ipOf((await echoContainer())!)!, port: 7 }, proxied: { host: '127.0.0.1', port: PORT + 1000 }, client: keptAliveRoundTrips(), proxyPid });
    console.log(describe('proxy, kept-alive connections (100-byte round trips to an echo server)', keptAlive));
    await client.delete(RESOURCES.services, 'echo', { namespace: NS });

    const before = (await svcStatus()).currentRevision;
    await client.patch(RESOURCES.services, 'web', { spec: { template: (web(100, 'v2').spec as { template: unknown }).template } }, { namespace: NS });
    const rolled = await waitFor(async () => {
      const s = await svcStatus();
      return s.currentRevision !== before && s.currentRevision === s.updateRevision && s.rollout?.phase === 'Healthy' && s.readyReplicas === 100;
    }, 'the rolling update');
    console.log(`rolling update of 100 replicas: ${rolled} ms`);

    await client.patch(RESOURCES.services, 'web', { spec: { replicas: 0 } }, { namespace: NS, subresource: 'scale' });
    const down = await waitFor(async () => (await containers()).length === 0, 'all gone');
    console.log(`scale 100→0: all gone in ${down} ms`);
    console.log(
      JSON.stringify({
        benchmark: 'services',
        scaleUp100Ms: up,
        scaleUpPhasesMs: upPhases,
        scaleUpCpuMsPerContainer: cpuPerContainerMs,
        scaleDown100Ms: down,
        rollingUpdate100Ms: rolled,
        proxy: { newConnectionPerRequest: perRequest, newConnectionAtRate: atRate, newConnectionSpread: spread, newConnectionSameContainer: sameContainer, keptAlive },
        failedRequests: perRequest.failed + atRate.failed + spread.failed + sameContainer.failed + keptAlive.failed,
      }),
    );
  } finally {
    for (const name of ['web', 'echo']) await client.delete(RESOURCES.services, name, { namespace: NS }).catch(() => undefined);
    await waitFor(async () => (await client.list(RESOURCES.containers, { namespace: NS })).items.length === 0, 'containers removed', 120_000).catch(() => undefined);
    for (const n of (await client.list(RESOURCES.networks, { namespace: NS })).items) await client.delete(RESOURCES.networks, n.metadata.name!, { namespace: NS });
    await waitFor(async () => (await client.list(RESOURCES.networks, { namespace: NS })).items.length === 0, 'networks removed', 60_000).catch(() => undefined);
    agent.stop();
    await controllers.stop();
    client.close();
    await server.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
