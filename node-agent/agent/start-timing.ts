import { performance } from 'node:perf_hooks';
import { Histogram, type Metric } from 'prom-client';

/**
 * The steps between the agent seeing a Container bound to its node and reporting it Running. `admit` is the
 * finalizer write; the others are what their names say (some run side by side, so they need not add up).
 */
export type StartPhase = 'admit' | 'image' | 'network' | 'rootfs' | 'bundle' | 'create' | 'start' | 'report';

/** Buckets from 1 ms to 30 s: a start is a few ms on an idle node and seconds behind a burst. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Where an operator sees why containers start slowly: `berth_container_start_phase_seconds{phase}` and
 * `berth_container_start_seconds` (seen bound → Running reported) on the agent's /metrics.
 */
export class StartTimings {
  private readonly phases = new Histogram({
    name: 'berth_container_start_phase_seconds',
    help: 'Time a container start spends in each phase (admit, image, network, rootfs, bundle, create, start, report).',
    labelNames: ['phase'] as const,
    buckets: BUCKETS,
    registers: [],
  });
  private readonly total = new Histogram({
    name: 'berth_container_start_seconds',
    help: 'Time from the agent seeing a Container bound to its node to reporting it Running.',
    buckets: BUCKETS,
    registers: [],
  });

  get metrics(): readonly Metric[] {
    return [this.phases, this.total];
  }

  /** Runs `step` and records how long it took as `phase` (also when it fails: a slow failure is a slow start). */
  async time<T>(phase: StartPhase, step: () => Promise<T> | T): Promise<T> {
    const t0 = performance.now();
    try {
      return await step();
    } finally {
      this.phases.observe({ phase }, (performance.now() - t0) / 1000);
    }
  }

  observePhase(phase: StartPhase, seconds: number): void {
    this.phases.observe({ phase }, seconds);
  }

  observeStart(seconds: number): void {
    this.total.observe(seconds);
  }
}
