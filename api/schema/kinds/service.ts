/** Service: N replicas of a Container template behind published ports, rolled out by a strategy. */
import { labelSelectorSchema, observedGenerationSchema, port, protocol } from './common';
import { containerSpecSchema } from './container';
import { arr, bool, conditionsSchema, int32, int64, intOrString, map, num, obj, oneOfValues, str, time } from './dsl';
import type { JSONSchemaProps } from '../types';
import { AGE_COLUMN, type KindDefinition } from './types';

export const STRATEGY_TYPES = ['Recreate', 'RollingUpdate', 'BlueGreen', 'Canary'] as const;
export const ROLLOUT_PHASES = ['Healthy', 'Progressing', 'Paused', 'Aborted', 'RolledBack', 'Degraded'] as const;

const seconds = (description: string): JSONSchemaProps => int32(description, { minimum: 0 });
const ratio = (description: string): JSONSchemaProps => num(description, { minimum: 0, maximum: 1 });

const rollingUpdate = obj('Parameters of a RollingUpdate: replace replicas in batches, watching each batch become ready.', {
  maxSurge: intOrString('How many replicas may exist above spec.replicas during the update: a number or a percentage ("25%", rounded up). Defaults to 25%.'),
  maxUnavailable: intOrString('How many replicas may be unavailable during the update: a number or a percentage ("25%", rounded down). Defaults to 25%. Cannot be 0 when maxSurge is 0.'),
  delaySeconds: seconds('Seconds to wait between batches.'),
  order: oneOfValues('start-first starts the new replica before stopping an old one (needs surge); stop-first stops first.', ['start-first', 'stop-first']),
  failureAction: oneOfValues('What to do when the update fails (more than maxFailureRatio of the new replicas failed, maxRestarts reached, or no progress within progressDeadlineSeconds): pause (default), rollback or continue.', ['pause', 'rollback', 'continue']),
  maxFailureRatio: ratio('Fraction (0..1) of updated replicas that may fail during monitoring before failureAction applies. Defaults to 0.'),
  monitorSeconds: seconds('How long each new replica is watched for failure after it is created: its restarts in that time count toward maxRestarts.'),
  maxRestarts: int32('Early abort on crash loops: this many restarts of the new revision\'s containers (summed) within monitorSeconds of their creation (the whole rollout without monitorSeconds) fail the update at once — failureAction applies — instead of at the progress deadline. Without it a crash-looping replica counts as failed toward maxFailureRatio.', { minimum: 1 }),
});

const blueGreen = obj('Parameters of a BlueGreen rollout: the new revision comes up in full beside the old, reachable on the preview port, then traffic switches at once.', {
  previewPort: port('Node port on which the new (preview) revision is reachable before promotion.'),
  autoPromote: bool('Switch traffic as soon as the preview revision is fully available (otherwise wait for `berth rollout promote`).'),
  autoPromotionSeconds: seconds('With autoPromote, wait this long after the preview is available before switching.'),
  scaleDownDelaySeconds: seconds('Keep the old revision running this long after the switch, for a fast abort. Defaults to 30.'),
});

const canaryStep = obj(
  'One step of a canary rollout: either setWeight or pause.',
  {
    setWeight: int32('Percentage (0..100) of traffic to send to the new revision.', { minimum: 0, maximum: 100 }),
    pause: obj('Wait before the next step.', {
      duration: seconds('Seconds to wait; without it, wait for `berth rollout promote`.'),
    }),
  },
  { minProperties: 1, maxProperties: 1 },
);

const canary = obj('Parameters of a Canary rollout: shift traffic to the new revision step by step, aborting when the analysis fails.', {
  steps: arr('The steps, in order. A rollout without steps goes to 100% at once.', canaryStep),
  analysis: obj('Automatic abort criteria measured by the service proxy on the canary\'s traffic.', {
    maxErrorRate: ratio('Largest tolerated fraction (0..1) of failed requests (5xx, resets).'),
    maxLatencyMs: int32('Largest tolerated p99 latency in milliseconds.', { minimum: 1 }),
    minRequests: int32('Requests needed before the analysis judges.', { minimum: 0 }),
    interval: seconds('Seconds between analysis evaluations.'),
  }),
});

const strategy = obj(
  'How to replace replicas when the template changes.',
  {
    type: oneOfValues('Recreate, RollingUpdate (default), BlueGreen or Canary.', STRATEGY_TYPES, { default: 'RollingUpdate' }),
    rollingUpdate,
    blueGreen,
    canary,
  },
  { default: { type: 'RollingUpdate' } },
);

const servicePort = obj(
  'A port the Service serves, spread over its ready replicas.',
  {
    name: str('Name of this port within the Service (required when there are several).', { maxLength: 63 }),
    port: port('Port the Service answers on inside its networks.'),
    targetPort: intOrString('Number or name of the port on the replicas. Defaults to port.'),
    publishedPort: port('Port on the node(s) that forwards to the Service (like docker -p).'),
    protocol: protocol('Protocol of the port: TCP (default), UDP or SCTP.'),
  },
  { required: ['port'] },
);

const templateSchema = obj(
  'Template of the Containers the Service creates. A change of it starts a rollout to a new revision.',
  {
    metadata: obj('Labels and annotations of each created Container.', {
      labels: map('Labels of the created Containers.'),
      annotations: map('Annotations of the created Containers.'),
    }),
    spec: containerSpecSchema,
  },
  { required: ['spec'] },
);

export const serviceSpecSchema: JSONSchemaProps = obj(
  'ServiceSpec is the desired state of a Service: a replicated Container template, its ports and its rollout strategy.',
  {
    replicas: int32('Number of desired replicas. Defaults to 1.', { minimum: 0, default: 1 }),
    selector: { ...labelSelectorSchema, description: 'Label query over the Containers the Service owns. Must match the template labels; defaults to them.' },
    template: templateSchema,
    ports: arr('Ports the Service serves.', servicePort),
    strategy,
    revisionHistoryLimit: int32('Number of old revisions kept for rollback. Defaults to 10.', { minimum: 0, default: 10 }),
    paused: bool('Stop progressing rollouts (replicas are still healed and scaled).'),
    minReadySeconds: seconds('Seconds a new replica must be ready before it counts as available.'),
    progressDeadlineSeconds: int32('Seconds a rollout may make no progress before Progressing turns False (reason ProgressDeadlineExceeded). Defaults to 600.', { minimum: 1, default: 600 }),
  },
  { required: ['template'] },
);

const rolloutStatus = obj('The state of the current rollout, as the service controller remembers it between reconciles.', {
  phase: oneOfValues('Healthy, Progressing, Paused, Aborted, RolledBack or Degraded.', ROLLOUT_PHASES),
  message: str('Human-readable detail of the phase.'),
  stepIndex: int32('Canary: index of the current step.', { minimum: 0 }),
  canaryWeight: int32('Canary: percentage of traffic on the new revision.', { minimum: 0, maximum: 100 }),
  activeRevision: str('The revision serving traffic.'),
  previewRevision: str('BlueGreen: the revision behind the preview port.'),
  abortedRevision: str('A revision that was aborted or rolled back; not retried until the template changes again.'),
  stepStartedAt: time('When the current step (or pause) began.'),
  lastBatchAt: time('RollingUpdate: when the last batch was started.'),
  previewReadyAt: time('BlueGreen: when the preview became fully available.'),
  scaleDownAt: time('BlueGreen: when the old revision will be scaled down.'),
  progressedAt: time('When the rollout last made progress; progressDeadlineSeconds counts from it (or from an updated replica turning ready since).'),
});

export const serviceStatusSchema: JSONSchemaProps = obj('ServiceStatus is the observed state of a Service, written by the service controller.', {
  replicas: int32('Number of non-terminated replicas owned by the Service.', { minimum: 0 }),
  readyReplicas: int32('Number of replicas passing their readiness probes.', { minimum: 0 }),
  updatedReplicas: int32('Number of replicas of the update (newest) revision.', { minimum: 0 }),
  availableReplicas: int32('Number of replicas ready for at least minReadySeconds.', { minimum: 0 }),
  currentRevision: str('The revision (template hash) that is fully rolled out.'),
  updateRevision: str('The revision of the current template.'),
  collisionCount: int32('Count of hash collisions of revision names.', { minimum: 0 }),
  selector: str('Label selector of the replicas as a string (served as Scale status.selector).'),
  weights: map('Traffic share in percent per revision on the published ports.', { type: 'integer', minimum: 0, maximum: 100 }),
  traffic: map(
    'What the service proxy measured per revision (written by the node agents; canary analysis reads it).',
    obj('Traffic outcome of one revision.', {
      requests: int64('Requests served in the measuring window.', { minimum: 0 }),
      errorRate: ratio('Fraction (0..1) of failed requests (5xx, resets).'),
      latencyP99Ms: num('99th percentile latency in milliseconds.', { minimum: 0 }),
    }),
  ),
  rollout: rolloutStatus,
  revisions: arr(
    'Revisions kept for `berth rollout history` and `undo`, oldest first: the current one and up to revisionHistoryLimit before it.',
    obj(
      'One revision of the template, pinned to what it ran.',
      {
        name: str('The revision: a hash of the template, the image digests and the versions of the Secrets it references.'),
        number: int64('Sequence number of the revision (1, 2, ...), as rollout history shows it.', { minimum: 1 }),
        template: templateSchema,
        images: map('Image reference → the digest it resolved to when the revision was made (a rollback runs the same bits).'),
        secrets: map('Secret name → the resourceVersion the revision was made with (rotating a Secret rolls out).'),
        createdAt: time('When the revision was first rolled out.'),
      },
      { required: ['name', 'number'] },
    ),
  ),
  conditions: conditionsSchema('Latest observations: Available, Progressing, ReplicaFailure.'),
  observedGeneration: observedGenerationSchema,
});

export const service: KindDefinition = {
  kind: 'Service',
  plural: 'services',
  shortNames: ['svc'],
  categories: ['all', 'berth'],
  scope: 'Namespaced',
  description: 'Service runs spec.replicas Containers from spec.template, serves spec.ports over the ready ones, and replaces them by spec.strategy when the template changes (each template is a revision; old ones are kept for rollback).',
  properties: { spec: serviceSpecSchema, status: serviceStatusSchema },
  required: ['spec'],
  statusSubresource: true,
  scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
  printerColumns: [
    { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas', description: 'Desired replicas' },
    { name: 'Ready', type: 'integer', jsonPath: '.status.readyReplicas', description: 'Ready replicas' },
    { name: 'Strategy', type: 'string', jsonPath: '.spec.strategy.type', description: 'Rollout strategy' },
    { name: 'Revision', type: 'string', jsonPath: '.status.currentRevision', description: 'Fully rolled-out revision' },
    AGE_COLUMN,
    { name: 'Updated', type: 'integer', jsonPath: '.status.updatedReplicas', priority: 1 },
    { name: 'Available', type: 'integer', jsonPath: '.status.availableReplicas', priority: 1 },
    { name: 'Rollout', type: 'string', jsonPath: '.status.rollout.phase', priority: 1 },
  ],
};
