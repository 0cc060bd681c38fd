/** Container: one process tree in its own namespaces on one node — Berth's Pod-with-one-container. */
import { observedGenerationSchema, port, protocol } from './common';
import { arr, bool, conditionsSchema, int32, int64, map, obj, oneOfValues, quantity, str, time } from './dsl';
import type { JSONSchemaProps } from '../types';
import { AGE_COLUMN, type KindDefinition } from './types';

export const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'] as const;
export const CONTAINER_PHASES = ['Pending', 'Pulling', 'Creating', 'Running', 'Succeeded', 'Failed', 'Terminating'] as const;

const envVar = obj(
  'EnvVar represents an environment variable present in a Container.',
  {
    name: str('Name of the environment variable.', { minLength: 1, pattern: '^[^=]+$' }),
    value: str('Variable value; `$(VAR_NAME)` references to earlier variables are expanded. Defaults to "".'),
    valueFrom: obj('Source for the environment variable\'s value. Cannot be used if value is not empty.', {
      secretKeyRef: obj(
        'Selects a key of a Secret in the Container\'s namespace.',
        {
          name: str('Name of the Secret.'),
          key: str('The key of the Secret to select from. Must be a valid secret key.'),
          optional: bool('Specify whether the Secret or its key must be defined.'),
        },
        { required: ['name', 'key'] },
      ),
      fieldRef: obj(
        'Selects a field of the Container: metadata.name, metadata.namespace, metadata.uid, spec.nodeName, status.ip.',
        { fieldPath: str('Path of the field to select.') },
        { required: ['fieldPath'] },
      ),
    }),
  },
  { required: ['name'] },
);

const containerPort = obj(
  'ContainerPort represents a network port in a single container.',
  {
    name: str('If specified, this must be an IANA_SVC_NAME and unique within the container. Services can refer to it by name.', { maxLength: 15 }),
    containerPort: port('Number of the port the process listens on inside the container\'s network namespace.'),
    hostPort: port('Number of the port to publish on the node. Most containers do not need this.'),
    hostIP: str('Node address to bind the published port to (default 127.0.0.1 on single-node clusters, 0.0.0.0 otherwise).'),
    protocol: protocol('Protocol for port. Must be UDP, TCP, or SCTP. Defaults to "TCP".'),
  },
  { required: ['containerPort'] },
);

const resources = obj('Compute resources of the container. Limits are enforced through cgroups; requests are what the scheduler reserves.', {
  limits: obj('Hard limits, enforced by the kernel.', {
    cpu: quantity('CPU limit in cores ("500m" = half a core, 2 = two cores); enforced as CFS quota.'),
    memory: quantity('Memory limit in bytes ("256Mi", "1Gi"); the container is OOM-killed above it.'),
    pids: int64('Maximum number of processes and threads in the container (pids cgroup).', { minimum: 1 }),
  }),
  requests: obj('What the scheduler reserves on the node; defaults to the limits.', {
    cpu: quantity('CPU the container needs, in cores.'),
    memory: quantity('Memory the container needs, in bytes.'),
  }),
});

const probeHandlerTiming = {
  initialDelaySeconds: int32('Number of seconds after the container has started before the probe is first run.', { minimum: 0 }),
  periodSeconds: int32('How often (in seconds) to perform the probe. Default to 10 seconds. Minimum value is 1.', { minimum: 1 }),
  timeoutSeconds: int32('Number of seconds after which the probe times out. Defaults to 1 second. Minimum value is 1.', { minimum: 1 }),
  successThreshold: int32('Minimum consecutive successes for the probe to be considered successful after having failed. Defaults to 1. Must be 1 for liveness and startup.', { minimum: 1 }),
  failureThreshold: int32('Minimum consecutive failures for the probe to be considered failed after having succeeded. Defaults to 3. Minimum value is 1.', { minimum: 1 }),
  terminationGracePeriodSeconds: int64('Optional duration in seconds the container needs to terminate gracefully upon probe failure; overrides the container\'s value.', { minimum: 1 }),
};

const probe = (description: string): JSONSchemaProps =>
  obj(description, {
    exec: obj('Exec specifies a command to execute inside the container; exit status 0 is success.', {
      command: arr('Command line to execute inside the container (not run in a shell).', { type: 'string' }, { minItems: 1 }),
    }, { required: ['command'] }),
    httpGet: obj(
      'HTTPGet specifies an HTTP GET request against the container\'s address; any status in [200,400) is success.',
      {
        path: str('Path to access on the HTTP server. Defaults to "/".'),
        port: port('Port to access on the container.'),
        host: str('Host name to connect to, defaults to the container IP.'),
        scheme: oneOfValues('Scheme to use for connecting to the host. Defaults to HTTP.', ['HTTP', 'HTTPS']),
        httpHeaders: arr(
          'Custom headers to set in the request.',
          obj('HTTPHeader describes a custom header to be used in HTTP probes.', { name: str('The header field name.'), value: str('The header field value.') }, { required: ['name', 'value'] }),
        ),
      },
      { required: ['port'] },
    ),
    tcpSocket: obj('TCPSocket specifies a TCP connect against the container\'s address; an accepted connection is success.', {
      port: port('Port to connect to on the container.'),
      host: str('Optional: Host name to connect to, defaults to the container IP.'),
    }, { required: ['port'] }),
    ...probeHandlerTiming,
  });

const secretMount = obj(
  'Files from a Secret, mounted read-only on a tmpfs inside the container (never written to the node\'s disk).',
  {
    name: str('Name of the Secret in the Container\'s namespace.', { minLength: 1 }),
    items: arr(
      'Which keys to project and where; all keys (one file each, named by the key) when omitted.',
      obj(
        'Maps a Secret key to a file.',
        {
          key: str('The key of the Secret.'),
          path: str('Relative path of the file under target (no "..").', { pattern: '^[^/]' }),
          mode: int32('File mode bits (octal 0400 = decimal 256); defaults to the mount\'s mode.', { minimum: 0, maximum: 511 }),
        },
        { required: ['key', 'path'] },
      ),
    ),
    target: str('Absolute directory in the container to mount the files in. Defaults to /run/secrets/<name>.', { pattern: '^/' }),
    mode: int32('Default file mode bits (decimal; 256 = 0400, the default).', { minimum: 0, maximum: 511 }),
  },
  { required: ['name'] },
);

const mount = obj(
  'A filesystem mounted into the container.',
  {
    type: oneOfValues('bind: a node path; tmpfs: memory-backed scratch space.', ['bind', 'tmpfs']),
    source: str('Node path for bind mounts.'),
    target: str('Absolute path in the container.', { pattern: '^/' }),
    readOnly: bool('Mount read-only.'),
    sizeBytes: int64('Size limit of a tmpfs mount in bytes.', { minimum: 1 }),
  },
  { required: ['type', 'target'] },
);

/** Container.spec, also Service.spec.template.spec. */
export const containerSpecSchema: JSONSchemaProps = obj(
  'ContainerSpec is the desired state of a Container: what to run, with which limits, where, and how to restart and probe it.',
  {
    image: str('Image to run: a reference (registry/name:tag or name@sha256:digest) or the name of an Image object in the same namespace. The node runs the digest the tag resolves to.', { minLength: 1 }),
    imagePullPolicy: oneOfValues('When to pull the image: Always, IfNotPresent (default) or Never.', ['Always', 'IfNotPresent', 'Never']),
    command: arr('Entrypoint array (not run in a shell). Replaces the image\'s ENTRYPOINT; the image\'s CMD is then ignored unless args is given.', { type: 'string' }),
    args: arr('Arguments to the entrypoint. Replace the image\'s CMD.', { type: 'string' }),
    workingDir: str('Working directory of the process. Defaults to the image\'s WORKDIR, else /.'),
    user: str('User to run as: a name from the image\'s /etc/passwd or uid[:gid]. Defaults to the image\'s USER, else root.'),
    hostname: str('Hostname inside the container\'s UTS namespace. Defaults to the container name.', { maxLength: 63 }),
    env: arr('List of environment variables to set in the container, after the image\'s ENV.', envVar, {
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    }),
    ports: arr('Ports the container listens on, optionally published on the node.', containerPort, {
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['containerPort', 'protocol'],
    }),
    resources,
    restartPolicy: oneOfValues('Restart the process when it exits: Always, OnFailure (non-zero exit) or Never. Restarts back off exponentially (10s doubling to 5m).', RESTART_POLICIES, { default: 'Always' }),
    terminationGracePeriodSeconds: int64('Seconds between SIGTERM and SIGKILL when the container is stopped. Defaults to 30.', { minimum: 0 }),
    nodeName: str('The node the container runs on. Set by the scheduler; setting it yourself bypasses scheduling.'),
    nodeSelector: map('Labels a node must carry for the container to be scheduled on it.'),
    networks: arr(
      'Names of the Networks (in the Container\'s namespace) to connect the container to; the first gets eth0 and the default route. On each, the container answers to its own name. None: the namespace\'s default network.',
      str('Name of a Network object.', { minLength: 1 }),
      { 'x-kubernetes-list-type': 'set' },
    ),
    secrets: arr('Secrets to mount as files.', secretMount),
    mounts: arr('Extra filesystems to mount.', mount),
    readOnlyRootFilesystem: bool('Mount the container\'s root filesystem read-only.'),
    capabilities: obj('Linux capabilities on top of the default (Docker\'s) set.', {
      add: arr('Capabilities to add, e.g. NET_ADMIN.', { type: 'string' }),
      drop: arr('Capabilities to drop, e.g. ALL.', { type: 'string' }),
    }),
    startupProbe: probe('StartupProbe indicates that the container has successfully initialized. Liveness and readiness probes start after it succeeds; failing it restarts the container.'),
    readinessProbe: probe('Periodic probe of container service readiness. The container receives Service traffic only while it succeeds.'),
    livenessProbe: probe('Periodic probe of container liveness. The container is restarted if the probe fails.'),
  },
  { required: ['image'] },
);

const networkStatus = obj('Where the container is attached.', {
  name: str('Name of the Network.'),
  ip: str('Address of the container on this network.'),
  interfaceName: str('Interface inside the container (eth0, eth1, ...).'),
});

const terminated = obj('How a previous run of the process ended.', {
  exitCode: int32('Exit status of the process (128+N for signal N).'),
  signal: int32('Signal that ended the process, if any.'),
  reason: str('(brief) reason from the last termination of the container, e.g. Completed, Error, OOMKilled.'),
  message: str('Message regarding the last termination of the container.'),
  startedAt: time('Time at which the previous run started.'),
  finishedAt: time('Time at which the previous run ended.'),
});

export const containerStatusSchema: JSONSchemaProps = obj(
  'ContainerStatus is the observed state of a Container, written by the node agent (and the scheduler) through /status.',
  {
    phase: oneOfValues('Lifecycle phase: Pending (not yet on a node), Pulling, Creating, Running, Succeeded, Failed or Terminating.', CONTAINER_PHASES),
    reason: str('A brief CamelCase message indicating details about why the container is in this state, e.g. CrashLoopBackOff, ImagePullBackOff, Unschedulable.'),
    message: str('A human readable message indicating details about why the container is in this condition.'),
    containerID: str('Runtime identifier of the running container on its node.'),
    pid: int64('Host PID of the container\'s init process while it runs.'),
    hostIP: str('Address of the node the container runs on.'),
    ip: str('Address of the container on its first network.'),
    networks: arr('Addresses on every network the container is attached to.', networkStatus),
    startedAt: time('Time at which the current run of the process started.'),
    finishedAt: time('Time at which the process exited (phase Succeeded or Failed).'),
    exitCode: int32('Exit status of the last run (128+N for signal N).'),
    restartCount: int32('The number of times the process has been restarted.', { minimum: 0 }),
    lastTerminationState: terminated,
    ready: bool('The container passes its readiness probe (or has none and runs).'),
    started: bool('The container passed its startup probe (or has none and runs).'),
    image: str('The image reference the container runs.'),
    imageDigest: str('Digest (sha256:...) of the image manifest the container runs.'),
    conditions: conditionsSchema('Latest observations of the container\'s state: Scheduled, Initialized, Ready, ...'),
    observedGeneration: observedGenerationSchema,
  },
);

export const container: KindDefinition = {
  kind: 'Container',
  plural: 'containers',
  shortNames: ['ctr'],
  categories: ['all', 'berth'],
  scope: 'Namespaced',
  description: 'Container is one process tree in its own Linux namespaces and cgroups on one node. The scheduler binds it to a Node (spec.nodeName); that node\'s agent makes it run and reports status. Services own Containers; a Container can also be created on its own.',
  properties: { spec: containerSpecSchema, status: containerStatusSchema },
  required: ['spec'],
  statusSubresource: true,
  printerColumns: [
    { name: 'Image', type: 'string', jsonPath: '.spec.image', description: 'Image the container runs' },
    { name: 'Node', type: 'string', jsonPath: '.spec.nodeName', description: 'Node the container is bound to' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Lifecycle phase' },
    { name: 'Restarts', type: 'integer', jsonPath: '.status.restartCount', description: 'Number of restarts' },
    AGE_COLUMN,
    { name: 'Ready', type: 'boolean', jsonPath: '.status.ready', priority: 1 },
    { name: 'IP', type: 'string', jsonPath: '.status.ip', priority: 1 },
    { name: 'Reason', type: 'string', jsonPath: '.status.reason', priority: 1 },
  ],
};
