import type { Container, Image, KubeObject, Secret, Service } from '../../client';
import type { Informer } from '../runtime';
import { revisionOf } from './revision';

type Template = Service['spec']['template'];

/** What a revision is made of besides the template: the digests its images resolve to and its Secrets' versions. */
export interface RevisionInputs {
  readonly name: string;
  readonly images: Record<string, string>;
  readonly secrets: Record<string, string>;
}

/** Secret names a template reads: mounted `spec.secrets[]` and `env[].valueFrom.secretKeyRef`. */
export function referencedSecrets(template: Template): string[] {
  const spec = template.spec as Container['spec'] & {
    secrets?: Array<{ name: string }>;
    env?: Array<{ valueFrom?: { secretKeyRef?: { name: string } } }>;
  };
  const names = new Set<string>();
  for (const s of spec.secrets ?? []) names.add(s.name);
  for (const e of spec.env ?? []) if (e.valueFrom?.secretKeyRef) names.add(e.valueFrom.secretKeyRef.name);
  return [...names].sort();
}

/**
 * The revision of a template as it would run now: an Image object with the same `spec.ref` pins the digest the tag
 * resolves to, and each referenced Secret contributes its resourceVersion — so a moved tag or a rotated Secret is a
 * new revision that rolls out through the Service's strategy, and a rollback can name the exact bits.
 */
export function revisionInputs(template: Template, namespace: string, images: Informer<Image>, secrets: Informer<Secret>): RevisionInputs {
  const pinned: Record<string, string> = {};
  const ref = template.spec.image;
  const image = images.list(namespace).find((i) => i.spec?.ref === ref && (i.status as { digest?: string } | undefined)?.digest);
  if (image && !ref.includes('@')) pinned[ref] = (image.status as { digest: string }).digest;
  const versions: Record<string, string> = {};
  for (const name of referencedSecrets(template)) {
    const s = secrets.get(`${namespace}/${name}`) as KubeObject | undefined;
    if (s?.metadata.resourceVersion) versions[name] = s.metadata.resourceVersion;
  }
  return { name: revisionOf(template, { ...pinned, ...prefixKeys('secret:', versions) }), images: pinned, secrets: versions };
}

function prefixKeys(prefix: string, m: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [`${prefix}${k}`, v]));
}

/** The image a container of this revision runs: the tag pinned to its digest when one is known (`name:tag@sha256:…`). */
export function pinnedImage(ref: string, inputs: Pick<RevisionInputs, 'images'>): string {
  const digest = inputs.images[ref];
  return digest ? `${ref}@${digest}` : ref;
}
