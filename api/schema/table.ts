/**
 * meta.k8s.io/v1 Table rendering of objects from their printer columns — what `kubectl get` asks for with
 * `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`. Cell semantics follow kube-apiserver's CRD table convertor:
 * the first match of each column's JSONPath, typed by the column type, `date` shown as an age ("5m", "3h"), none → null.
 */
import { evaluateJsonPath, parseJsonPath } from './jsonpath';
import type { PrinterColumn, ResourceInfo } from './types';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface TableOptions {
  /** `?includeObject=`; kubectl asks for Metadata (the default) or Object (for `-o wide` of some kinds). */
  readonly includeObject?: IncludeObject;
  /** List metadata to carry over (resourceVersion, continue, remainingItemCount). */
  readonly listMeta?: Record<string, unknown>;
  readonly now?: Date;
}

const NAME_COLUMN = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically.',
  priority: 0,
};
const AGE_COLUMN: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.' };

type Obj = { metadata?: Record<string, unknown>; [k: string]: unknown };

export function buildTable(info: ResourceInfo, objects: readonly Obj[], options: TableOptions = {}): Record<string, unknown> {
  const columns = info.printerColumns.length > 0 ? info.printerColumns : [AGE_COLUMN];
  const compiled = columns.map((c) => ({ column: c, steps: parseJsonPath(c.jsonPath) }));
  const now = options.now ?? new Date();
  const include = options.includeObject ?? 'Metadata';
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { ...(options.listMeta ?? {}) },
    columnDefinitions: [
      NAME_COLUMN,
      ...columns.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description ?? '', priority: c.priority ?? 0 })),
    ],
    rows: objects.map((o) => ({
      cells: [o.metadata?.name ?? '', ...compiled.map(({ column, steps }) => cellFor(column.type, evaluateJsonPath(steps, o)[0], now))],
      ...(include === 'None' ? {} : { object: include === 'Object' ? o : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata ?? {} } }),
    })),
  };
}

function cellFor(type: PrinterColumn['type'], value: unknown, now: Date): unknown {
  if (value === undefined || value === null) return null;
  switch (type) {
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'date': {
      if (typeof value !== 'string') return null;
      const t = Date.parse(value);
      return Number.isNaN(t) ? '<invalid>' : humanDuration(now.getTime() - t);
    }
    default:
      return typeof value === 'string' ? value : JSON.stringify(value);
  }
}

/** A short age like kubectl prints: 45s, 5m12s, 3h, 2d4h, 1y30d (coarser as it grows). */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < -1) return '<invalid>';
  if (s < 0) return '0s';
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  const pair = (big: number, bigUnit: string, small: number, smallUnit: string) => (small === 0 ? `${big}${bigUnit}` : `${big}${bigUnit}${small}${smallUnit}`);
  if (m < 10) return pair(m, 'm', s % 60, 's');
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return pair(h, 'h', m % 60, 'm');
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return pair(d, 'd', h % 24, 'h');
  if (d < 365 * 2) return `${d}d`;
  const y = Math.floor(d / 365);
  if (d < 365 * 8) return pair(y, 'y', d % 365, 'd');
  return `${y}y`;
}
