/** One Container owned by a Service, as the rollout planner sees it. */
export interface Replica {
  readonly name: string;
  readonly revision: string;
  /** Its index in `<service>-<revision>-<index>`. */
  readonly index: number;
  readonly ready: boolean;
  /** Ready for at least minReadySeconds. */
  readonly available: boolean;
  /** Ended for good (phase Failed): replaced by a new container. */
  readonly failed: boolean;
  /** Restarting after crashes (CrashLoopBackOff): counts against failure ratios, but replacing it would not help. */
  readonly crashLooping?: boolean;
  /** Being deleted (deletionTimestamp set): still holds resources, serves no traffic. */
  readonly terminating: boolean;
  /** When it last turned ready (ms since the epoch): an updated replica turning ready is rollout progress. */
  readonly readySince?: number;
  /** Times its process was restarted in place (Container status.restartCount). */
  readonly restartCount?: number;
  /** When the Container was created (ms since the epoch): restarts in its first monitorSeconds count against the rollout. */
  readonly createdAt?: number;
}

export type StrategyType = 'Recreate' | 'RollingUpdate' | 'BlueGreen' | 'Canary';
export type IntOrPercent = number | string;

export interface RollingUpdateSpec {
  readonly maxSurge?: IntOrPercent;
  readonly maxUnavailable?: IntOrPercent;
  readonly delaySeconds?: number;
  readonly order?: 'start-first' | 'stop-first';
  readonly failureAction?: 'pause' | 'rollback' | 'continue';
  readonly maxFailureRatio?: number;
  readonly monitorSeconds?: number;
  /** Restarts of the new revision's containers (summed) within monitorSeconds of their creation that fail the rollout at once. */
  readonly maxRestarts?: number;
}

export interface BlueGreenSpec {
  readonly previewPort?: number;
  readonly autoPromote?: boolean;
  readonly autoPromotionSeconds?: number;
  readonly scaleDownDelaySeconds?: number;
}

export type CanaryStep = { readonly setWeight: number } | { readonly pause: { readonly duration?: number } };

export interface CanarySpec {
  readonly steps?: readonly CanaryStep[];
  readonly analysis?: { readonly maxErrorRate?: number; readonly maxLatencyMs?: number; readonly minRequests?: number };
}

export interface StrategySpec {
  readonly type: StrategyType;
  readonly rollingUpdate?: RollingUpdateSpec;
  readonly blueGreen?: BlueGreenSpec;
  readonly canary?: CanarySpec;
}

export type RolloutPhase = 'Healthy' | 'Progressing' | 'Paused' | 'Aborted' | 'RolledBack' | 'Degraded';

/** `status.rollout` of a Service: what the planner remembers between reconciles (it is the only memory it has). */
export interface RolloutStatus {
  readonly phase: RolloutPhase;
  readonly message?: string;
  readonly stepIndex?: number;
  readonly canaryWeight?: number;
  readonly activeRevision?: string;
  readonly previewRevision?: string;
  /** ISO times of the moments the planner waits from. */
  readonly stepStartedAt?: string;
  readonly lastBatchAt?: string;
  readonly previewReadyAt?: string;
  readonly scaleDownAt?: string;
  /** A revision that was aborted or rolled back: not retried until the template changes again. */
  readonly abortedRevision?: string;
  /** When the rollout last made progress (started, created or removed containers, waited on purpose); the progress deadline counts from it. */
  readonly progressedAt?: string;
}

/** Canary traffic outcome measured by Berth's proxy. */
export interface TrafficStats {
  readonly requests: number;
  readonly errorRate: number;
  readonly latencyP99Ms: number;
}

export interface PlanInput {
  readonly service: string;
  readonly replicas: number;
  readonly strategy: StrategySpec;
  /** Revision of the current template. */
  readonly updateRevision: string;
  /** The revision serving (stable); undefined before the first rollout completes. */
  readonly currentRevision?: string;
  readonly owned: readonly Replica[];
  readonly rollout?: RolloutStatus;
  readonly paused?: boolean;
  /** `berth rollout promote`: `<revision>` (next step) or `<revision>:full`. */
  readonly promote?: string;
  /** `berth rollout abort`: the revision to abort. */
  readonly abort?: string;
  /** `berth rollout retry`: the aborted revision to try again. */
  readonly retry?: string;
  readonly canaryTraffic?: TrafficStats;
  /** The update revision of the previous plan: a different one means a new rollout starts now. */
  readonly previousUpdateRevision?: string;
  /** The update's image is being pulled onto the nodes (what the pull stands at): no container of it starts yet. */
  readonly prePulling?: string;
  /** Seconds a rollout may go without progress (Kubernetes' progressDeadlineSeconds); 600 unless set. */
  readonly progressDeadlineSeconds?: number;
  readonly now: number;
}

export interface Plan {
  /** Containers to create: revision and index (the name is `<service>-<revision>-<index>`). */
  readonly create: ReadonlyArray<{ readonly revision: string; readonly index: number }>;
  readonly delete: readonly string[];
  /** Traffic share per revision on the published port (sums to 100 when anything serves). */
  readonly weights: Readonly<Record<string, number>>;
  /** The revision behind the BlueGreen preview port. */
  readonly previewRevision?: string;
  readonly currentRevision?: string;
  readonly rollout: RolloutStatus;
  /** Look again after this long even if nothing changes (timers: pauses, delays, scale-down, the progress deadline). */
  readonly requeueAfterMs?: number;
  /** The rollout made no progress for progressDeadlineSeconds (condition Progressing=False, ProgressDeadlineExceeded). */
  readonly progressDeadlineExceeded?: boolean;
}
