/**
 * Resource types shared by the CLI, controllers, the node agent and operators. They mirror the schemas in
 * manifests/crds (the API server validates against those; these types are the TypeScript view of the same shapes).
 */

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: unknown[];
  [k: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [k: string]: unknown;
}

export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion: string;
  kind: string;
  metadata: ListMeta;
  items: T[];
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

/** Names a served resource: enough to build its URL. */
export interface ResourceRef {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

const berth = (kind: string, plural: string, namespaced = true): ResourceRef => ({ group: 'berth.dev', version: 'v1', plural, kind, namespaced });

/** The built-in resources (ARCHITECTURE.md §2). */
export const RESOURCES = {
  containers: berth('Container', 'containers'),
  services: berth('Service', 'services'),
  images: berth('Image', 'images'),
  networks: berth('Network', 'networks'),
  secrets: berth('Secret', 'secrets'),
  nodes: berth('Node', 'nodes', false),
  events: berth('Event', 'events'),
  leases: berth('Lease', 'leases'),
  namespaces: { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false } as ResourceRef,
  customResourceDefinitions: {
    group: 'apiextensions.k8s.io',
    version: 'v1',
    plural: 'customresourcedefinitions',
    kind: 'CustomResourceDefinition',
    namespaced: false,
  } as ResourceRef,
} as const;

export const apiVersionOf = (ref: Pick<ResourceRef, 'group' | 'version'>): string => (ref.group ? `${ref.group}/${ref.version}` : ref.version);

export interface EnvVar {
  name: string;
  value?: string;
}

export interface ContainerPort {
  containerPort: number;
  hostPort?: number;
  protocol?: 'TCP' | 'UDP';
}

export interface ContainerSpec {
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: ContainerPort[];
  resources?: { limits?: { cpu?: string; memory?: string; pids?: number } };
  restartPolicy?: 'Always' | 'OnFailure' | 'Never';
  nodeName?: string;
  [k: string]: unknown;
}

export interface Container extends KubeObject {
  spec: ContainerSpec;
  status?: { phase?: string; conditions?: Condition[]; [k: string]: unknown };
}

export type StrategyType = 'Recreate' | 'RollingUpdate' | 'BlueGreen' | 'Canary';

export interface ServiceSpec {
  replicas?: number;
  selector?: Record<string, string> | { matchLabels?: Record<string, string> };
  template: { metadata?: { labels?: Record<string, string> }; spec: ContainerSpec };
  ports?: Array<{ port: number; targetPort?: number; publishedPort?: number; protocol?: string }>;
  strategy?: { type: StrategyType; [k: string]: unknown };
  [k: string]: unknown;
}

export interface Service extends KubeObject {
  spec: ServiceSpec;
  status?: { replicas?: number; readyReplicas?: number; conditions?: Condition[]; [k: string]: unknown };
}

export interface Image extends KubeObject {
  spec: { ref: string; [k: string]: unknown };
  status?: { digest?: string; conditions?: Condition[]; [k: string]: unknown };
}

export interface Network extends KubeObject {
  spec: { subnet?: string; driver?: string; [k: string]: unknown };
  status?: { conditions?: Condition[]; [k: string]: unknown };
}

export interface Secret extends KubeObject {
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  type?: string;
}

export interface BerthNode extends KubeObject {
  spec?: { [k: string]: unknown };
  status?: { conditions?: Condition[]; [k: string]: unknown };
}
