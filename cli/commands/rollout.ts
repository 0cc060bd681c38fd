/**
 * `berth rollout status|promote|abort service/NAME` and `berth scale service/NAME --replicas N`: driving the
 * deployment strategies of a Service (Argo Rollouts' promote/abort, kubectl's rollout status and scale).
 */
import type { Command } from 'commander';
import { ApiClient, RESOURCES, Service } from '../../client';
import { clientFor, namespaceOf, type GlobalOptions } from '../context';

const PROMOTE = 'berth.dev/promote';
const ABORT = 'berth.dev/abort';
const RETRY = 'berth.dev/retry';

interface RevisionRecord {
  name: string;
  number: number;
  template: Service['spec']['template'];
  images?: Record<string, string>;
  createdAt?: string;
}

interface RolloutView {
  currentRevision?: string;
  updateRevision?: string;
  replicas?: number;
  readyReplicas?: number;
  updatedReplicas?: number;
  rollout?: { phase?: string; message?: string; stepIndex?: number; canaryWeight?: number; previewRevision?: string; abortedRevision?: string };
  revisions?: RevisionRecord[];
  conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
}

function serviceName(target: string): string {
  const m = /^(?:svc|service|services)\/(.+)$/.exec(target) ?? /^([^/]+)$/.exec(target);
  if (!m) throw new Error(`expected service/NAME, not "${target}"`);
  return m[1];
}

async function loadService(client: ApiClient, namespace: string, name: string): Promise<Service & { status?: RolloutView }> {
  return client.get<Service & { status?: RolloutView }>(RESOURCES.services, name, namespace);
}

/** One human line for the state of a rollout. */
export function describeRollout(name: string, spec: { replicas?: number }, s: RolloutView = {}): string {
  const phase = s.rollout?.phase ?? 'Pending';
  const parts = [`service/${name}: ${phase}`, `${s.updatedReplicas ?? 0}/${spec.replicas ?? 1} updated`, `${s.readyReplicas ?? 0} ready`];
  if (s.rollout?.canaryWeight !== undefined) parts.push(`canary weight ${s.rollout.canaryWeight}%`);
  if (s.rollout?.stepIndex !== undefined) parts.push(`step ${s.rollout.stepIndex}`);
  if (s.rollout?.message) parts.push(s.rollout.message);
  return parts.join(', ');
}

const DONE = new Set(['Healthy', 'Aborted', 'RolledBack', 'Degraded']);

async function status(client: ApiClient, namespace: string, name: string, watch: boolean, timeoutMs: number): Promise<number> {
  const end = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const svc = await loadService(client, namespace, name);
    const s = svc.status ?? {};
    const line = describeRollout(name, svc.spec as { replicas?: number }, s);
    if (line !== last) console.log(line);
    last = line;
    const observed = (s as { observedGeneration?: number }).observedGeneration === svc.metadata.generation;
    const phase = s.rollout?.phase ?? '';
    if (observed && DONE.has(phase)) return phase === 'Healthy' ? 0 : 1;
    const stuck = s.conditions?.find((c) => c.type === 'Progressing' && c.status === 'False');
    if (stuck) {
      console.error(`error: ${stuck.message ?? stuck.reason}`);
      return 1;
    }
    if (!watch) return 0;
    if (Date.now() > end) {
      console.error(`error: timed out waiting for service/${name}`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * The template to go back to: revision `toNumber`, or the newest one before the current. Its images are pinned to the
 * digests the revision ran, so the rollback restores the same bits even if a tag has moved since.
 */
export function undoTemplate(s: RolloutView, toNumber?: number): { record: RevisionRecord; template: Service['spec']['template'] } {
  const revisions = s.revisions ?? [];
  const current = revisions.find((r) => r.name === s.currentRevision);
  const record = toNumber !== undefined ? revisions.find((r) => r.number === toNumber) : [...revisions].reverse().find((r) => r.name !== s.currentRevision && (!current || r.number < current.number));
  if (!record) throw new Error(toNumber !== undefined ? `revision ${toNumber} not found (see berth rollout history)` : 'no previous revision to roll back to');
  const template = structuredClone(record.template);
  const digest = record.images?.[template.spec.image];
  if (digest) template.spec.image = `${template.spec.image}@${digest}`;
  return { record, template };
}

async function annotate(client: ApiClient, namespace: string, name: string, key: string, value: string): Promise<void> {
  await client.patch(RESOURCES.services, name, { metadata: { annotations: { [key]: value } } }, { namespace });
}

export const registerRolloutCommands = (program: Command): void => {
  const rollout = program.command('rollout').description('manage the rollout of a service');
  const withClient =
    (fn: (client: ApiClient, namespace: string, name: string, opts: Record<string, unknown>) => Promise<number | void>) =>
    async (target: string, opts: Record<string, unknown>, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const client = clientFor(globals);
      try {
        const code = await fn(client, namespaceOf(client, globals), serviceName(target), opts);
        if (code) process.exitCode = code;
      } finally {
        client.close();
      }
    };
  rollout
    .command('status')
    .description('follow a rollout until it completes (exit 1 if it is aborted, rolled back or stuck)')
    .argument('<service>', 'service/NAME')
    .option('-w, --watch <bool>', 'keep watching until done', 'true')
    .option('--timeout <seconds>', 'give up after this long', '600')
    .action(withClient((c, ns, name, o) => status(c, ns, name, o.watch !== 'false', Number(o.timeout) * 1000)));
  rollout
    .command('promote')
    .description('BlueGreen: switch traffic to the preview; Canary: go past the current pause (--full: to the end)')
    .argument('<service>', 'service/NAME')
    .option('--full', 'skip every remaining canary step')
    .action(
      withClient(async (c, ns, name, o) => {
        const svc = await loadService(c, ns, name);
        const s = svc.status ?? {};
        const revision = s.updateRevision;
        if (!revision || revision === s.currentRevision) throw new Error(`service/${name} has no rollout in progress`);
        const strategy = (svc.spec.strategy as { type?: string } | undefined)?.type;
        const value = o.full ? `${revision}:full` : strategy === 'Canary' ? `${revision}:${s.rollout?.stepIndex ?? 0}` : revision;
        await annotate(c, ns, name, PROMOTE, value);
        console.log(`service/${name} promoted (${value})`);
      }),
    );
  rollout
    .command('abort')
    .description('stop a rollout and send all traffic back to the stable revision')
    .argument('<service>', 'service/NAME')
    .action(
      withClient(async (c, ns, name) => {
        const s = (await loadService(c, ns, name)).status ?? {};
        if (!s.updateRevision || s.updateRevision === s.currentRevision) throw new Error(`service/${name} has no rollout in progress`);
        await annotate(c, ns, name, ABORT, s.updateRevision);
        console.log(`service/${name} rollout of ${s.updateRevision} aborted`);
      }),
    );
  rollout
    .command('history')
    .description('list the revisions kept for rollback')
    .argument('<service>', 'service/NAME')
    .action(
      withClient(async (c, ns, name) => {
        const s = (await loadService(c, ns, name)).status ?? {};
        console.log(['REVISION', 'HASH', 'IMAGE', 'CREATED', ''].join('\t'));
        for (const r of s.revisions ?? []) {
          const image = r.template.spec.image + (r.images?.[r.template.spec.image] ? `@${r.images[r.template.spec.image].slice(0, 19)}` : '');
          const mark = r.name === s.currentRevision ? '(current)' : r.name === s.updateRevision ? '(updating)' : '';
          console.log([r.number, r.name, image, r.createdAt ?? '', mark].join('\t'));
        }
      }),
    );
  rollout
    .command('undo')
    .description('roll back to the previous revision (or --to-revision N), with the image digests it ran')
    .argument('<service>', 'service/NAME')
    .option('--to-revision <n>', 'revision number from rollout history')
    .action(
      withClient(async (c, ns, name, o) => {
        const { record, template } = undoTemplate((await loadService(c, ns, name)).status ?? {}, o.toRevision !== undefined ? Number(o.toRevision) : undefined);
        await c.patch(RESOURCES.services, name, { spec: { template } }, { namespace: ns });
        console.log(`service/${name} rolled back to revision ${record.number} (${record.name})`);
      }),
    );
  rollout
    .command('retry')
    .description('try an aborted or rolled-back revision again')
    .argument('<service>', 'service/NAME')
    .action(
      withClient(async (c, ns, name) => {
        const s = (await loadService(c, ns, name)).status ?? {};
        const aborted = s.rollout?.abortedRevision;
        if (!aborted) throw new Error(`service/${name} has no aborted rollout to retry`);
        await c.patch(RESOURCES.services, name, { metadata: { annotations: { [RETRY]: aborted, [ABORT]: null } } }, { namespace: ns });
        console.log(`service/${name} retrying ${aborted}`);
      }),
    );
  for (const [verb, paused] of [['pause', true], ['resume', false]] as const) {
    rollout
      .command(verb)
      .description(paused ? 'stop progressing the rollout (replicas are still healed)' : 'continue a paused rollout')
      .argument('<service>', 'service/NAME')
      .action(
        withClient(async (c, ns, name) => {
          await c.patch(RESOURCES.services, name, { spec: { paused } }, { namespace: ns });
          console.log(`service/${name} ${paused ? 'paused' : 'resumed'}`);
        }),
      );
  }
  program
    .command('scale')
    .description('set the number of replicas of a service (through its /scale subresource)')
    .argument('<service>', 'service/NAME')
    .requiredOption('--replicas <n>', 'desired replicas')
    .action(
      withClient(async (c, ns, name, o) => {
        const replicas = Number(o.replicas);
        if (!Number.isInteger(replicas) || replicas < 0) throw new Error(`--replicas must be a whole number ≥ 0, not "${String(o.replicas)}"`);
        await c.patch(RESOURCES.services, name, { spec: { replicas } }, { namespace: ns, subresource: 'scale' });
        console.log(`service/${name} scaled to ${replicas}`);
      }),
    );
};
