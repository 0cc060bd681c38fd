/** Output formats: tables (the server's meta.k8s.io Table, from the CRD printer columns), YAML and JSON. */
import { stringify } from 'yaml';

export interface TableColumn {
  name: string;
  type: string;
  priority?: number;
}

export interface TableRow {
  cells: unknown[];
  object?: { metadata?: { namespace?: string; name?: string } };
}

export interface Table {
  columnDefinitions?: TableColumn[];
  rows?: TableRow[];
}

export const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

export interface TableOptions {
  readonly wide: boolean;
  readonly withNamespace: boolean;
  readonly header: boolean;
}

const cellText = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** Rows as kubectl prints them: upper-case headers, columns padded to their widest cell, three spaces apart. */
export const formatTable = (table: Table, columns: TableColumn[], opts: TableOptions): string => {
  const shown = columns.map((c, i) => ({ c, i })).filter(({ c }) => opts.wide || !c.priority);
  const lines: string[][] = [];
  if (opts.header) lines.push([...(opts.withNamespace ? ['NAMESPACE'] : []), ...shown.map(({ c }) => c.name.toUpperCase())]);
  for (const row of table.rows ?? [])
    lines.push([...(opts.withNamespace ? [row.object?.metadata?.namespace ?? ''] : []), ...shown.map(({ i }) => cellText(row.cells[i]))]);
  const widths = lines.reduce<number[]>((w, line) => line.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), []);
  return lines.map((line) => line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i] + 3))).join('').trimEnd()).join('\n');
};

export const formatObject = (obj: unknown, output: 'yaml' | 'json'): string =>
  output === 'json' ? JSON.stringify(obj, null, 4) : stringify(obj).trimEnd();
