import type { Mount } from '../runtime/spec';
import type { LogOptions } from '../runtime/types';
import type { ProbeSpec } from '../probes';
import type { SecretRefs } from '../secrets';
import type { ContainerProcessSpec, ImageProcessConfig } from './bundle';
import type { RestartPolicy } from './restart-policy';

export type ContainerPhase = 'Pending' | 'Pulling' | 'Creating' | 'Running' | 'Succeeded' | 'Failed' | 'Terminating';

/** `Container.spec` as the agent reads it (the CRD in manifests/crds is the full definition). */
export interface ContainerSpec extends ContainerProcessSpec, SecretRefs {
  readonly image: string;
  readonly imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  readonly restartPolicy?: RestartPolicy;
  readonly terminationGracePeriodSeconds?: number;
  readonly startupProbe?: ProbeSpec;
  readonly readinessProbe?: ProbeSpec;
  readonly livenessProbe?: ProbeSpec;
  readonly networks?: readonly string[];
  readonly nodeName?: string;
}

/** `Container.status` as the agent writes it. */
export interface ContainerStatusReport {
  phase: ContainerPhase;
  reason?: string;
  message?: string;
  pid?: number;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  restartCount: number;
  ready: boolean;
  imageDigest?: string;
  ip?: string;
  networks?: Array<{ name: string; ip: string }>;
  observedGeneration?: number;
}

export interface ContainerObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly uid: string;
    readonly generation?: number;
    readonly deletionTimestamp?: string;
    readonly finalizers?: readonly string[];
  };
  readonly spec: ContainerSpec;
  readonly status?: Partial<ContainerStatusReport>;
}

/** Where the agent's view of a container goes: the API server (PATCH /status, Events). */
export interface StatusReporter {
  report(c: ContainerObject, status: ContainerStatusReport): Promise<void>;
  event(c: ContainerObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
  /** An Event that repeats what the status says (Started): written once starts quieten down (EventRecorder.recordLater). */
  eventLater(c: ContainerObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
  /** Everything of the container is gone from the node: drop the agent's finalizer so the object can go. */
  release(c: ContainerObject): Promise<void>;
}

export interface ResolvedImage {
  readonly digest: string;
  readonly config: ImageProcessConfig;
}

/** The node's image store as the agent uses it. */
export interface ImageProvider {
  /**
   * Makes the image present per the pull policy (undefined: Kubernetes' default, Always for `:latest`); progress lines
   * go to `onProgress` (they become Events). A failure may carry a kubelet `reason` (ErrImagePull, ErrImageNeverPull...).
   * `ref` may also name an Image object of `namespace`: the container then runs that Image's digest.
   */
  ensure(ref: string, policy: 'Always' | 'IfNotPresent' | 'Never' | undefined, onProgress: (message: string) => void, namespace: string): Promise<ResolvedImage>;
  /** A writable root filesystem for the container (kept across restarts of the same container). */
  prepareRootfs(digest: string, containerId: string): Promise<string>;
  releaseRootfs(containerId: string): Promise<void>;
}

export interface NetworkSetup {
  /** The namespace the container joins; none = a private loopback-only namespace. */
  readonly netnsPath?: string;
  readonly ip?: string;
  readonly networks: Array<{ name: string; ip: string }>;
  /** resolv.conf / hosts bind mounts. */
  readonly mounts?: readonly Mount[];
}

export interface NetworkProvider {
  attach(c: ContainerObject, containerId: string): Promise<NetworkSetup>;
  detach(c: ContainerObject, containerId: string): Promise<void>;
}

/** The log of one run of a container (the runtime's shim writes it, also while no agent runs; `berth logs` reads it). */
export interface LogProvider {
  log(c: ContainerObject, containerId: string, restartCount: number): Promise<LogOptions>;
}
