import { collectDefaultMetrics, Gauge, type Metric, Registry } from 'prom-client';
import type { CgroupStats } from '../runtime/cgroups';

/** One supervised container as the metrics see it. */
export interface ContainerSample {
  readonly namespace: string;
  readonly name: string;
  readonly restartCount: number;
  readonly stats?: CgroupStats;
}

/**
 * The agent's Prometheus metrics: per-container CPU, memory, pids and OOM kills read from cgroups at scrape
 * time (no polling in between), restarts, the agent process itself, and the metrics the agent keeps (`agentOwn`).
 */
export function agentMetrics(sample: () => ContainerSample[], agentOwn: readonly Metric[] = []): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'berth_agent_' });
  for (const metric of agentOwn) registry.registerMetric(metric);
  const labelNames = ['namespace', 'name'] as const;
  const gauge = (name: string, help: string, pick: (s: ContainerSample) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const s of sample()) {
          const v = pick(s);
          if (v !== undefined) this.set({ namespace: s.namespace, name: s.name }, v);
        }
      },
    });
  gauge('berth_container_cpu_usage_seconds_total', 'CPU time consumed by the container, seconds.', (s) => (s.stats ? s.stats.cpuUsageNs / 1e9 : undefined));
  gauge('berth_container_memory_usage_bytes', 'Memory used by the container, bytes.', (s) => s.stats?.memoryUsage);
  gauge('berth_container_memory_limit_bytes', 'Memory limit of the container, bytes.', (s) => s.stats?.memoryLimit);
  gauge('berth_container_pids', 'Processes in the container.', (s) => s.stats?.pidsCurrent);
  gauge('berth_container_oom_kills_total', 'Processes of the container killed for exceeding its memory limit.', (s) => s.stats?.oomKillCount);
  gauge('berth_container_restarts_total', 'Times the container was restarted.', (s) => s.restartCount);
  new Gauge({
    name: 'berth_containers',
    help: 'Containers supervised by this agent.',
    registers: [registry],
    collect() {
      this.set(sample().length);
    },
  });
  return registry;
}
