import * as http from 'node:http';
import * as path from 'node:path';
import { Container, KubeObject, RESOURCES } from '../../client';
import { AgentServer } from '../../node-agent/server';
import { startCluster, TestCluster } from '../helpers/cluster';
import { until } from '../helpers/until';


const get = (socketPath: string, p: string): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    http
      .get({ socketPath, path: p }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });

describe('agent endpoint: metrics and stats from cgroups', () => {
  let cluster: TestCluster;
  let server: AgentServer;
  let socket: string;
  beforeAll(async () => {
    cluster = await startCluster();
    socket = path.join(cluster.api.home, 'agent.sock');
    server = new AgentServer({ agent: cluster.agent, socketPath: socket, logDir: (ns, n) => cluster.logs.dirOf(ns, n) });
    await server.listen();
    await cluster.api.client.create(RESOURCES.containers, { metadata: { name: 'busy', namespace: 'default' }, spec: { image: 'busybox', command: ['sh', '-c', 'sleep 1000 & sleep 1000'], resources: { limits: { memory: '32Mi' } } } } as KubeObject);
    await until(async () => ((await cluster.api.client.get<Container>(RESOURCES.containers, 'busy', 'default')).status?.phase === 'Running' ? true : undefined));
  });
  afterAll(async () => {
    await server.close();
    await cluster.stop();
  });

  it('exports per-container CPU, memory, limit and pids as Prometheus metrics', async () => {
    const { status, body } = await get(socket, '/metrics');
    expect(status).toBe(200);
    const value = (metric: string) => Number(new RegExp(`^${metric}\\{namespace="default",name="busy"\\} (\\S+)$`, 'm').exec(body)?.[1]);
    expect(value('berth_container_memory_usage_bytes')).toBeGreaterThan(0);
    expect(value('berth_container_memory_limit_bytes')).toBe(32 * 2 ** 20);
    expect(value('berth_container_pids')).toBeGreaterThanOrEqual(3);
    expect(value('berth_container_cpu_usage_seconds_total')).toBeGreaterThan(0);
    expect(body).toMatch(/^berth_agent_process_resident_memory_bytes \d+/m);
  });

  it('exports how long starts take, per phase and in all (the agent saw it bound → Running reported)', async () => {
    const { body } = await get(socket, '/metrics');
    const count = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(body)?.[1]);
    for (const phase of ['admit', 'image', 'network', 'rootfs', 'bundle', 'create', 'start', 'report']) {
      expect(count(`berth_container_start_phase_seconds_count{phase="${phase}"}`)).toBeGreaterThanOrEqual(1);
    }
    expect(count('berth_container_start_seconds_count')).toBeGreaterThanOrEqual(1);
    const total = count('berth_container_start_seconds_sum');
    expect(total).toBeGreaterThan(0);
    expect(total).toBeGreaterThanOrEqual(count('berth_container_start_phase_seconds_sum{phase="create"}'));
  });

  it('serves the same numbers as JSON for berth top, and 404 for unknown routes', async () => {
    const stats = JSON.parse((await get(socket, '/stats')).body) as Array<{ name: string; stats: { pidsCurrent: number } }>;
    expect(stats.find((s) => s.name === 'busy')!.stats.pidsCurrent).toBeGreaterThanOrEqual(3);
    expect((await get(socket, '/nope')).status).toBe(404);
  });
});
