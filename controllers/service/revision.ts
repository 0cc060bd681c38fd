import { createHash } from 'node:crypto';

/** JSON with object keys sorted, so equal templates hash equally whatever order their fields came in. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * A revision is the hash of the pod template with image references pinned to digests, so a rollback restores
 * identical bits even if a tag moved since (`digests` maps each image reference to the digest it resolved to).
 */
export function revisionOf(template: unknown, digests: Readonly<Record<string, string>> = {}): string {
  return createHash('sha256').update(canonicalJson({ template, digests })).digest('hex').slice(0, 10);
}

export const containerName = (service: string, revision: string, index: number): string => `${service}-${revision}-${index}`;

/** Parses `<service>-<revision>-<index>`; undefined for a name of another shape. */
export function parseContainerName(service: string, name: string): { revision: string; index: number } | undefined {
  const m = new RegExp(`^${service.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-([0-9a-f]{10})-(\\d+)$`).exec(name);
  return m ? { revision: m[1], index: Number(m[2]) } : undefined;
}

/** Resolves an int-or-percent of `total` (Kubernetes' intstr): percentages round up for surge, down for unavailable. */
export function resolveIntOrPercent(value: number | string | undefined, total: number, fallback: string, roundUp: boolean): number {
  const v = value ?? fallback;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) throw new Error(`invalid value ${JSON.stringify(v)}: expected an integer or a percentage like "25%"`);
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}
