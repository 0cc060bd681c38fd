/** `berth describe KIND NAME`: identity, labels, owners, spec, status and conditions, then recent events. */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { RESOURCES, type Condition, type KubeObject } from '../../client';
import { clientFor, namespaceOf, type GlobalOptions } from '../context';
import { ResourceResolver } from '../resources';

const indent = (text: string, by = '  '): string => text.split('\n').map((l) => (l ? by + l : l)).join('\n');
const mapText = (m: Record<string, string> | undefined): string =>
  m && Object.keys(m).length > 0 ? Object.entries(m).map(([k, v]) => `${k}=${v}`).join('\n' + ' '.repeat(14)) : '<none>';

/** A Secret's values never reach the terminal (as kubectl describe): each key shows only its size. */
const withoutSecretValues = (obj: KubeObject): KubeObject => {
  const data = (obj as { data?: Record<string, string> }).data ?? {};
  const sizes = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, `${Buffer.from(v, 'base64').length} bytes`]));
  return { ...obj, data: sizes } as KubeObject;
};

export const describeObject = (obj: KubeObject, events: KubeObject[]): string => {
  const meta = obj.metadata;
  const lines = [
    `Name:         ${meta.name}`,
    ...(meta.namespace ? [`Namespace:    ${meta.namespace}`] : []),
    `Kind:         ${obj.kind} (${obj.apiVersion})`,
    `Labels:       ${mapText(meta.labels)}`,
    `Annotations:  ${mapText(Object.fromEntries(Object.entries(meta.annotations ?? {}).filter(([k]) => !k.startsWith('kubectl.kubernetes.io/'))))}`,
    `Created:      ${meta.creationTimestamp}`,
    ...(meta.deletionTimestamp ? [`Deleting:     since ${meta.deletionTimestamp} (finalizers: ${(meta.finalizers ?? []).join(', ')})`] : []),
    ...(meta.ownerReferences?.length ? [`Owned by:     ${meta.ownerReferences.map((o) => `${o.kind}/${o.name}`).join(', ')}`] : []),
  ];
  const { metadata: _m, status, apiVersion: _a, kind: _k, ...body } = obj.kind === 'Secret' ? withoutSecretValues(obj) : obj;
  if (Object.keys(body).length > 0) lines.push('Spec:', indent(stringify(body.spec ?? body).trimEnd()));
  const conditions = (status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
  if (status) {
    const { conditions: _c, ...rest } = status as Record<string, unknown>;
    if (Object.keys(rest).length > 0) lines.push('Status:', indent(stringify(rest).trimEnd()));
  }
  if (conditions.length > 0) {
    lines.push('Conditions:', '  Type                 Status  Reason               Message');
    for (const c of conditions) lines.push(`  ${c.type.padEnd(21)}${c.status.padEnd(8)}${(c.reason ?? '').padEnd(21)}${c.message ?? ''}`);
  }
  lines.push(events.length === 0 ? 'Events:       <none>' : 'Events:');
  for (const e of events) {
    const ev = e as KubeObject & { type?: string; reason?: string; message?: string; lastTimestamp?: string };
    lines.push(`  ${(ev.type ?? 'Normal').padEnd(9)}${(ev.reason ?? '').padEnd(22)}${ev.message ?? ''}`);
  }
  return lines.join('\n');
};

export const registerDescribeCommand = (program: Command): void => {
  program
    .command('describe')
    .description('show an object in detail, with its events')
    .argument('<kind>', 'resource type')
    .argument('<name>', 'object name')
    .action(async (kind: string, name: string, _opts: unknown, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const client = clientFor(globals);
      try {
        const ref = await new ResourceResolver(client).byName(kind);
        const namespace = ref.namespaced ? namespaceOf(client, globals) : undefined;
        const obj = await client.get(ref, name, namespace);
        const events = await client
          .list(RESOURCES.events, { namespace: namespace ?? 'default', fieldSelector: `involvedObject.name=${name}` })
          .then((l) => l.items.filter((e) => (e as { involvedObject?: { kind?: string } }).involvedObject?.kind === obj.kind))
          .catch(() => []);
        console.log(describeObject(obj, events));
      } finally {
        client.close();
      }
    });
};
