import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Clock, realClock } from '../../controllers/runtime';
import { checkFor, ProbeKind, ProbeWorker } from '../probes';
import type { Mount } from '../runtime/spec';
import { ContainerNotFoundError, type ContainerRuntime, type ExitStatus } from '../runtime/types';
import { SecretNotReadyError, SecretVolumes } from '../secrets';
import { BundleError, buildRuntimeSpec, resolveUser } from './bundle';
import { runCleanup, type CleanupOptions, type CleanupStep } from './cleanup';
import { BackOffOptions, KUBERNETES_BACKOFF, restartDelay, shouldRestart } from './restart-policy';
import type { StartPhase, StartTimings } from './start-timing';
import type {
  ContainerObject,
  ContainerStatusReport,
  ImageProvider,
  LogProvider,
  NetworkProvider,
  NetworkSetup,
  ResolvedImage,
  StatusReporter,
} from './types';
import { writeFile } from '../runtime/small-files';

export interface SupervisorDeps {
  readonly runtime: ContainerRuntime;
  readonly images: ImageProvider;
  readonly network: NetworkProvider;
  readonly logs: LogProvider;
  readonly reporter: StatusReporter;
  /** Bundles are written under `<stateDir>/bundles/<id>`. */
  readonly stateDir: string;
  /** Waits until no proxy sends the container traffic any more (verified drain); called before it is stopped. */
  readonly drain?: (c: ContainerObject) => Promise<unknown>;
  /** Delivers spec.secrets and secretKeyRef env; without it a Container that references Secrets cannot start. */
  readonly secrets?: SecretVolumes;
  readonly backoff?: BackOffOptions;
  readonly clock?: Clock;
  /** Where the duration of each start phase goes (the agent's /metrics). */
  readonly timings?: StartTimings;
  /** performance.now() when the agent first saw the Container bound here: the first start is timed from it. */
  readonly seenAt?: number;
}

/** How long pulling or creating may last before it is reported as a phase of its own (a quick start writes only Running). */
const PHASE_REPORT_DELAY_MS = 1000;

/** The runtime id of a Container: one per namespace/name, stable across agent restarts (re-adoption finds it). */
export const runtimeIdOf = (c: ContainerObject): string => `${c.metadata.namespace}.${c.metadata.name}`;

/** Why a run could not even start: a spec problem (not retried until the spec changes) or a transient one. */
class RunSetupError extends Error {
  constructor(readonly reason: string, message: string, readonly retry: boolean, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Keeps one Container running as its object says, for as long as the object lives on this node: pulls, creates,
 * starts, probes, restarts with CrashLoopBackOff, reports status, and on deletion stops gracefully and removes
 * everything before releasing the object. One async loop per container; `update` hands it newer versions.
 */
export class ContainerSupervisor {
  readonly id: string;
  private obj: ContainerObject;
  private status: ContainerStatusReport;
  private deleting = false;
  private detached = false;
  private wakeUp?: () => void;
  private probes: ProbeWorker[] = [];
  private net?: NetworkSetup;
  private image?: ResolvedImage;
  private rootfs?: string;
  private runGeneration?: number;
  private stopReason?: string;
  private lastArgv: readonly string[] = [];
  private readonly clock: Clock;
  private loop?: Promise<void>;
  private seenAt?: number;

  constructor(private readonly deps: SupervisorDeps, obj: ContainerObject) {
    this.obj = obj;
    this.id = runtimeIdOf(obj);
    // Deleted while no agent ran: nothing is adopted or started, the container is only removed.
    this.deleting = !!obj.metadata.deletionTimestamp;
    this.clock = deps.clock ?? realClock;
    this.seenAt = deps.seenAt;
    this.status = {
      phase: 'Pending',
      restartCount: obj.status?.restartCount ?? 0,
      ready: false,
      ...(obj.status?.ip ? { ip: obj.status.ip } : {}),
    };
  }

  start(): Promise<void> {
    this.loop ??= this.run().catch((err) => this.warn('AgentError', `supervisor stopped: ${(err as Error).message}`));
    return this.loop;
  }

  /** Hands a newer version of the object: a deletion stops the container, a spec change restarts it. */
  update(obj: ContainerObject): void {
    this.obj = obj;
    if (obj.metadata.deletionTimestamp) this.deleting = true;
    if (!this.deleting && !this.specChanged()) return;
    void this.stopForUpdate();
    this.wakeUp?.();
  }

  /** What the agent reports about this container outside the API (metrics, `berth top`). */
  snapshot(): { namespace: string; name: string; restartCount: number; phase: string; pid?: number } {
    return { namespace: this.obj.metadata.namespace, name: this.obj.metadata.name, restartCount: this.status.restartCount, phase: this.status.phase, pid: this.status.pid };
  }

  /** Stops supervising without touching the container (the agent is stopping; a new one re-adopts it). */
  detach(): void {
    this.detached = true;
    this.stopProbes();
    this.wakeUp?.();
  }

  /** Deletion: out of every proxy and no request in flight before SIGTERM (a verified drain, no timer guessing). */
  private async stopForUpdate(): Promise<void> {
    if (this.deleting) await this.deps.drain?.(this.obj);
    await this.interruptRun(this.deleting ? 'Killing' : 'SpecChanged');
  }

  /** Resolves when the container is gone and the object released. */
  finished(): Promise<void> {
    return this.loop ?? Promise.resolve();
  }

  private specChanged(): boolean {
    return this.runGeneration !== undefined && (this.obj.metadata.generation ?? 0) !== this.runGeneration;
  }

  private async run(): Promise<void> {
    let shortRuns = 0;
    let exit = this.deleting ? undefined : await this.adopt();
    for (;;) {
      if (this.detached) return;
      if (this.deleting) break;
      if (!exit) {
        const started = await this.startRun();
        if (started === 'wait') {
          await this.sleep(Infinity);
          continue;
        }
        if (started === 'retry') {
          const { delayMs, consecutiveShortRuns } = restartDelay(0, shortRuns, this.deps.backoff ?? KUBERNETES_BACKOFF);
          shortRuns = consecutiveShortRuns;
          // kubelet's wording while it waits to retry a failed pull (the ErrImagePull Event says why).
          if (this.status.reason === 'ErrImagePull') await this.report({ reason: 'ImagePullBackOff', message: `back-off ${Math.ceil(delayMs / 1000)}s pulling image "${this.obj.spec.image}": ${this.status.message}` });
          await this.sleep(delayMs);
          continue;
        }
        // A deletion (or spec change) that arrived mid-start found nothing running yet to stop: stop it now.
        if (this.deleting || this.specChanged()) void this.stopForUpdate();
        exit = await this.superviseRun();
      }
      if (this.detached) return;
      const ranMs = this.clock.now() - Date.parse(this.status.startedAt ?? new Date(this.clock.now()).toISOString());
      await this.finishRun(exit);
      exit = undefined;
      if (this.deleting) break;
      if (this.stopReason === 'SpecChanged') {
        this.stopReason = undefined;
        continue;
      }
      if (!shouldRestart(this.obj.spec.restartPolicy ?? 'Always', this.status.exitCode ?? 0)) {
        await this.sleep(Infinity);
        continue;
      }
      const { delayMs, consecutiveShortRuns } = restartDelay(ranMs, shortRuns, this.deps.backoff ?? KUBERNETES_BACKOFF);
      shortRuns = consecutiveShortRuns;
      if (delayMs > 0) {
        await this.report({ phase: 'Pending', reason: 'CrashLoopBackOff', message: `back-off ${Math.round(delayMs / 1000)}s restarting failed container`, pid: undefined });
        await this.sleep(delayMs);
      }
      if (!this.deleting) this.status.restartCount++;
    }
    await this.cleanup();
  }

  /** A container left by an earlier agent process: supervise it instead of starting a duplicate. */
  private async adopt(): Promise<ExitStatus | undefined> {
    const state = await this.deps.runtime.state(this.id).catch(() => undefined);
    if (!state) return undefined;
    if (state.status === 'created' || state.status === 'creating') {
      await this.deps.runtime.delete(this.id, { force: true }).catch(() => undefined);
      return undefined;
    }
    this.runGeneration = this.obj.status?.observedGeneration ?? this.obj.metadata.generation ?? 0;
    this.status = { ...this.status, startedAt: this.obj.status?.startedAt, pid: state.pid, imageDigest: this.obj.status?.imageDigest };
    if (state.status === 'stopped') return this.waitForExit();
    await this.report({ phase: 'Running', pid: state.pid, ready: !this.obj.spec.readinessProbe && !this.obj.spec.startupProbe, reason: undefined, message: undefined });
    return this.superviseRun();
  }

  /**
   * The run's exit. A status that cannot be had (the shim was killed, the state directory removed) ends the run as
   * kubelet's ContainerStatusUnknown does (137), with an Event, instead of ending the supervisor.
   */
  private async waitForExit(): Promise<ExitStatus> {
    try {
      return await this.deps.runtime.wait(this.id);
    } catch (err) {
      await this.warn('ContainerStatusUnknown', `the container's exit status is lost: ${(err as Error).message}`);
      return { exitCode: 137 };
    }
  }

  /** Pull, network, rootfs, bundle, create, start. */
  private async startRun(): Promise<'started' | 'retry' | 'wait'> {
    const spec = this.obj.spec;
    this.runGeneration = this.obj.metadata.generation ?? 0;
    try {
      const image = await this.timed('image', () =>
        this.reportIfSlow({ phase: 'Pulling', reason: undefined, message: `pulling image ${spec.image}` }, () =>
          this.deps.images
            .ensure(spec.image, spec.imagePullPolicy, (m) => void this.deps.reporter.event(this.obj, 'Normal', 'Pulling', m), this.obj.metadata.namespace)
            .catch((err) => {
              const reason = (err as { reason?: string }).reason ?? 'ErrImagePull';
              throw new RunSetupError(reason, `cannot pull image ${spec.image}: ${(err as Error).message}`, true, { cause: err });
            }),
        ),
      );
      this.image = image;
      this.status.imageDigest = image.digest; // written with the next report (Running, or why not)
      const { net, rootfs } = await this.reportIfSlow({ phase: 'Creating', reason: undefined, message: undefined }, () => this.prepareNetworkAndRootfs(image));
      const bundle = path.join(this.deps.stateDir, 'bundles', this.id);
      const bundleStarted = performance.now();
      let config;
      try {
        const secrets = await this.prepareSecrets(rootfs);
        config = buildRuntimeSpec({
          name: this.obj.metadata.name,
          spec,
          image: this.image.config,
          rootfs,
          netnsPath: net.netnsPath,
          cgroupsPath: `berth/${this.id}`,
          mounts: [...(net.mounts ?? []), ...secrets.mounts],
          extraEnv: secrets.env,
        });
      } catch (err) {
        if (err instanceof BundleError) throw new RunSetupError('CreateContainerConfigError', err.message, false, { cause: err });
        if (err instanceof SecretNotReadyError) throw new RunSetupError('CreateContainerConfigError', err.message, true, { cause: err });
        throw err;
      }
      this.lastArgv = config.process?.args ?? [];
      await fs.promises.mkdir(bundle, { recursive: true });
      await writeFile(path.join(bundle, 'config.json'), JSON.stringify(config));
      const log = await this.deps.logs.log(this.obj, this.id, this.status.restartCount);
      this.deps.timings?.observePhase('bundle', (performance.now() - bundleStarted) / 1000);
      const state = await this.timed('create', async () => {
        await this.deps.runtime.delete(this.id, { force: true }).catch(() => undefined);
        // A minimal init as pid 1 forwards SIGTERM and reaps zombies: a plain `sleep` as pid 1 would ignore SIGTERM.
        return this.deps.runtime.create(this.id, bundle, { log, init: true }).catch((err) => {
          throw new RunSetupError('CreateContainerError', (err as Error).message, true, { cause: err });
        });
      });
      await this.timed('start', () =>
        this.deps.runtime.start(this.id).catch(async (err) => {
          await this.deps.runtime.delete(this.id, { force: true }).catch(() => undefined);
          throw new RunSetupError('StartError', (err as Error).message, true, { cause: err });
        }),
      );
      const reportStarted = performance.now();
      await this.report({
        phase: 'Running',
        pid: state.pid,
        startedAt: new Date(this.clock.now()).toISOString(),
        finishedAt: undefined,
        exitCode: undefined,
        reason: undefined,
        message: undefined,
        ready: !spec.readinessProbe && !spec.startupProbe,
        ip: net.ip,
        networks: net.networks,
      });
      this.observeStarted(reportStarted);
      this.deps.reporter.eventLater(this.obj, 'Normal', 'Started', `started container (pid ${state.pid})`);
      return 'started';
    } catch (caught) {
      // Anything unforeseen (a mount, a file write) is retried with back-off like a failed create: one container's
      // trouble never ends its supervisor, which would leave the object unattended.
      const err = caught instanceof RunSetupError ? caught : new RunSetupError('CreateContainerError', (caught as Error).message, true, { cause: caught });
      await this.report({ phase: err.retry ? 'Pending' : 'Failed', reason: err.reason, message: err.message, pid: undefined, ready: false });
      await this.warn(err.reason, err.message);
      return err.retry ? 'retry' : 'wait';
    }
  }

  /**
   * The network attach and the root filesystem, side by side (kept across restarts of the container). Both are
   * waited for even when one fails, so that a retry never overlaps a step still running.
   */
  private async prepareNetworkAndRootfs(image: ResolvedImage): Promise<{ net: NetworkSetup; rootfs: string }> {
    const [net, rootfs] = await Promise.allSettled([
      this.net ??
        this.timed('network', () =>
          this.deps.network.attach(this.obj, this.id).catch((err) => {
            throw new RunSetupError('NetworkSetupError', `cannot attach networks: ${(err as Error).message}`, true, { cause: err });
          }),
        ).then((n) => (this.net = n)),
      this.rootfs ?? this.timed('rootfs', () => this.deps.images.prepareRootfs(image.digest, this.id)).then((r) => (this.rootfs = r)),
    ]);
    if (net.status === 'rejected') throw net.reason;
    if (rootfs.status === 'rejected') throw rootfs.reason;
    return { net: net.value, rootfs: rootfs.value };
  }

  /**
   * Runs `step`; only if it takes longer than PHASE_REPORT_DELAY_MS is `change` reported meanwhile (a user sees a
   * slow pull as Pulling), so that a quick start costs one status write, Running.
   */
  private async reportIfSlow<T>(change: Partial<ContainerStatusReport>, step: () => Promise<T>): Promise<T> {
    let reported: Promise<void> | undefined;
    const timer = this.clock.setTimeout(() => (reported = this.report(change)), PHASE_REPORT_DELAY_MS);
    try {
      return await step();
    } finally {
      timer.cancel();
      await reported;
    }
  }

  private timed<T>(phase: StartPhase, step: () => Promise<T>): Promise<T> {
    return this.deps.timings ? this.deps.timings.time(phase, step) : step();
  }

  /** The Running report is written: its own duration, and for the first run the whole time since the agent saw the object. */
  private observeStarted(reportStarted: number): void {
    const now = performance.now();
    this.deps.timings?.observePhase('report', (now - reportStarted) / 1000);
    if (this.seenAt !== undefined) this.deps.timings?.observeStart((now - this.seenAt) / 1000);
    this.seenAt = undefined;
  }

  private async prepareSecrets(rootfs: string): Promise<{ mounts: Mount[]; env: string[] }> {
    const spec = this.obj.spec;
    const wantsSecrets = !!spec.secrets?.length || !!spec.env?.some((e) => e.valueFrom?.secretKeyRef);
    if (!wantsSecrets) return { mounts: [], env: [] };
    if (!this.deps.secrets) throw new SecretNotReadyError('this agent delivers no secrets');
    const user = resolveUser(spec.user ?? this.image?.config.User, rootfs, spec.user ? 'spec.user' : 'image config User');
    return this.deps.secrets.prepare(this.id, this.obj.metadata.namespace, spec, user);
  }

  /** Probes while the container runs; resolves with its exit. */
  private async superviseRun(): Promise<ExitStatus> {
    this.startProbes();
    try {
      return await this.waitForExit();
    } finally {
      this.stopProbes();
    }
  }

  private async finishRun(exit: ExitStatus): Promise<void> {
    await this.deps.runtime.delete(this.id, { force: true }).catch(() => undefined);
    const ranMs = this.clock.now() - Date.parse(this.status.startedAt ?? '');
    // 126/127 at once is the shell convention the init uses when execve fails: say what it means.
    const cannotRun = (exit.exitCode === 126 || exit.exitCode === 127) && ranMs < 2000;
    const reason = exit.oomKilled
      ? 'OOMKilled'
      : this.stopReason === 'Unhealthy'
        ? 'Unhealthy'
        : cannotRun
          ? 'StartError'
          : exit.exitCode === 0
            ? 'Completed'
            : 'Error';
    const restarting = !this.deleting && this.stopReason !== 'SpecChanged' && shouldRestart(this.obj.spec.restartPolicy ?? 'Always', exit.exitCode);
    await this.report({
      phase: this.deleting ? 'Terminating' : restarting || this.stopReason === 'SpecChanged' ? 'Pending' : exit.exitCode === 0 ? 'Succeeded' : 'Failed',
      exitCode: exit.exitCode,
      reason,
      message: cannotRun
        ? `cannot run ${JSON.stringify(this.lastArgv)}: exit code ${exit.exitCode} (${exit.exitCode === 127 ? 'command not found' : 'not executable'})`
        : exit.signal
          ? `terminated by ${exit.signal}`
          : `exited with code ${exit.exitCode}`,
      finishedAt: new Date(this.clock.now()).toISOString(),
      pid: undefined,
      ready: false,
    });
    if (reason === 'OOMKilled') await this.warn('OOMKilled', 'the container exceeded its memory limit and was killed');
    if (this.stopReason !== 'SpecChanged') this.stopReason = undefined;
  }

  /** The startup probe alone first; readiness and liveness once it has succeeded (or at once without one). */
  private startProbes(afterStartup = false): void {
    const spec = this.obj.spec;
    const exec = async (argv: readonly string[], timeoutMs: number) => {
      const h = await this.deps.runtime.exec(this.id, { args: argv }, { stdout: 'null', stderr: 'null' });
      const timer = this.clock.setTimeout(() => {
        try {
          process.kill(h.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, timeoutMs);
      try {
        return (await h.wait()).exitCode;
      } finally {
        timer.cancel();
      }
    };
    const worker = (kind: ProbeKind) => {
      const probe = spec[`${kind}Probe` as const];
      if (!probe) return undefined;
      const check = checkFor(probe, this.status.ip, exec);
      return new ProbeWorker({ kind, spec: probe, check, onResult: (k, ok, msg) => void this.onProbe(k, ok, msg), clock: this.clock });
    };
    const kinds: ProbeKind[] = spec.startupProbe && !afterStartup ? ['startup'] : ['readiness', 'liveness'];
    this.probes = kinds.map(worker).filter((w): w is ProbeWorker => w !== undefined);
    for (const p of this.probes) p.start();
  }

  private stopProbes(): void {
    for (const p of this.probes) p.stop();
    this.probes = [];
  }

  private async onProbe(kind: ProbeKind, ok: boolean, message: string): Promise<void> {
    if (kind === 'readiness') return this.report({ ready: ok });
    if (kind === 'startup' && ok) {
      this.stopProbes();
      if (!this.obj.spec.readinessProbe) await this.report({ ready: true });
      this.startProbes(true);
      return;
    }
    if (!ok) {
      await this.warn('Unhealthy', `${message}; restarting the container`);
      await this.interruptRun('Unhealthy');
    }
  }

  /** SIGTERM, then SIGKILL after the grace period; the run's wait() then resolves. */
  private async interruptRun(reason: string): Promise<void> {
    const state = await this.deps.runtime.state(this.id).catch(() => undefined);
    if (!state || state.status !== 'running') return;
    this.stopReason = reason;
    await this.deps.runtime.kill(this.id, 'SIGTERM').catch(() => undefined);
    const grace = (this.obj.spec.terminationGracePeriodSeconds ?? 30) * 1000;
    const exited = await Promise.race([
      this.deps.runtime.wait(this.id).then(
        () => true,
        () => true, // already deleted by the run loop: it has exited
      ),
      new Promise<boolean>((r) => this.clock.setTimeout(() => r(false), grace)),
    ]);
    if (!exited) await this.deps.runtime.kill(this.id, 'SIGKILL').catch(() => undefined);
  }

  /**
   * Removes everything of the container from the node, then releases the object (the finalizer). Each step is
   * bounded and retried with back-off until it succeeds, none is skipped because an earlier one failed, and while one
   * fails the status, an Event and the agent's log say which step and why (describe tells why it is not going away).
   */
  private async cleanup(): Promise<void> {
    await this.report({ phase: 'Terminating', ready: false, reason: undefined, message: 'removing the container' });
    await this.interruptRun('Killing');
    const steps: CleanupStep[] = [
      { name: 'runtime container', run: () => this.deps.runtime.delete(this.id, { force: true }).catch((err) => (err instanceof ContainerNotFoundError ? undefined : Promise.reject(err))) },
      { name: 'secrets', run: () => this.deps.secrets?.release(this.id) },
      { name: 'rootfs', run: () => this.deps.images.releaseRootfs(this.id) },
      { name: 'network', run: () => this.deps.network.detach(this.obj, this.id) },
      { name: 'bundle', run: () => fs.promises.rm(path.join(this.deps.stateDir, 'bundles', this.id), { recursive: true, force: true }) },
    ];
    const options: CleanupOptions = {
      clock: this.clock,
      onFailure: async (step, attempt, err, retryInMs) => {
        const why = `removing the container's ${step} failed: ${err.message}`;
        console.error(JSON.stringify({ component: 'berth-agent', container: this.id, cleanupStep: step, attempt, err: err.message }));
        await this.warn('CleanupFailed', `${why}; retrying`);
        await this.report({ reason: 'CleanupFailed', message: `${why} (attempt ${attempt}, next in ${Math.round(retryInMs / 100) / 10} s)` });
      },
    };
    await runCleanup(steps, options);
    // Released only once everything above has succeeded: the finalizer is what keeps the object while the node is not clean.
    await runCleanup([{ name: 'finalizer', run: () => this.deps.reporter.release(this.obj) }], options);
  }

  private async report(change: Partial<ContainerStatusReport>): Promise<void> {
    this.status = { ...this.status, ...change, observedGeneration: this.obj.metadata.generation };
    for (const k of Object.keys(this.status) as Array<keyof ContainerStatusReport>) if (this.status[k] === undefined) delete this.status[k];
    await this.deps.reporter.report(this.obj, { ...this.status }).catch(() => undefined);
  }

  private warn(reason: string, message: string): Promise<void> {
    return this.deps.reporter.event(this.obj, 'Warning', reason, message).catch(() => undefined);
  }

  /** Waits `ms` or until `update` wakes the loop (deletion, spec change). */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.deleting || this.detached || this.specChanged()) return resolve();
      const timer = Number.isFinite(ms) ? this.clock.setTimeout(resolve, ms) : undefined;
      this.wakeUp = () => {
        timer?.cancel();
        this.wakeUp = undefined;
        resolve();
      };
    });
  }
}
