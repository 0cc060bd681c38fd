/**
 * The JSONPath subset printer columns use (k8s.io/client-go/util/jsonpath, as CRD `additionalPrinterColumns`
 * allow it): `.a.b`, `['key']`, `[0]`, `[-1]`, `[*]`, `[?(@.type=="Ready")]`, optionally wrapped in `{...}`.
 * Evaluation returns every match (possibly none).
 */

type Step =
  | { kind: 'field'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'wildcard' }
  | { kind: 'filter'; path: string[]; op: '==' | '!='; value: unknown };

export class JsonPathError extends Error {
  constructor(expression: string, detail: string) {
    super(`invalid JSONPath ${JSON.stringify(expression)}: ${detail}`);
    this.name = 'JsonPathError';
  }
}

const FIELD = /^[A-Za-z0-9_-]+/;
const FILTER = /^\?\(@((?:\.[A-Za-z0-9_-]+)+)\s*(==|!=)\s*(.+)\)$/;

/** Parses once; throws JsonPathError for anything outside the subset. */
export function parseJsonPath(expression: string): Step[] {
  let rest = expression.trim();
  if (rest.startsWith('{') && rest.endsWith('}')) rest = rest.slice(1, -1).trim();
  if (rest.startsWith('$')) rest = rest.slice(1);
  const steps: Step[] = [];
  while (rest.length > 0) {
    if (rest.startsWith('.')) {
      const m = FIELD.exec(rest.slice(1));
      if (!m) {
        if (rest.startsWith('.[')) {
          rest = rest.slice(1);
          continue;
        }
        throw new JsonPathError(expression, `expected a field name at ${JSON.stringify(rest)}`);
      }
      steps.push({ kind: 'field', name: m[0] });
      rest = rest.slice(1 + m[0].length);
    } else if (rest.startsWith('[')) {
      const end = findClosingBracket(rest);
      if (end < 0) throw new JsonPathError(expression, 'unclosed [');
      steps.push(parseBracket(expression, rest.slice(1, end).trim()));
      rest = rest.slice(end + 1);
    } else {
      throw new JsonPathError(expression, `unexpected ${JSON.stringify(rest)}`);
    }
  }
  return steps;
}

function findClosingBracket(s: string): number {
  let depth = 0;
  let quote = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[') depth++;
    else if (c === ']' && --depth === 0) return i;
  }
  return -1;
}

function parseBracket(expression: string, inner: string): Step {
  if (inner === '*') return { kind: 'wildcard' };
  if (/^-?\d+$/.test(inner)) return { kind: 'index', index: Number(inner) };
  const quoted = /^(['"])(.*)\1$/.exec(inner);
  if (quoted) return { kind: 'field', name: quoted[2] };
  const filter = FILTER.exec(inner);
  if (filter) {
    const raw = filter[3].trim();
    const str = /^(['"])(.*)\1$/.exec(raw);
    let value: unknown;
    if (str) value = str[2];
    else if (/^-?\d+(\.\d+)?$/.test(raw)) value = Number(raw);
    else if (raw === 'true' || raw === 'false') value = raw === 'true';
    else throw new JsonPathError(expression, `unsupported filter value ${raw}`);
    return { kind: 'filter', path: filter[1].slice(1).split('.'), op: filter[2] as '==' | '!=', value };
  }
  throw new JsonPathError(expression, `unsupported [${inner}]`);
}

/** Every value the path selects in `root`. */
export function evaluateJsonPath(steps: readonly Step[], root: unknown): unknown[] {
  let current: unknown[] = [root];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const v of current) {
      if (step.kind === 'field') {
        if (v && typeof v === 'object' && !Array.isArray(v) && step.name in v) next.push((v as Record<string, unknown>)[step.name]);
      } else if (step.kind === 'index') {
        if (Array.isArray(v)) {
          const i = step.index < 0 ? v.length + step.index : step.index;
          if (i >= 0 && i < v.length) next.push(v[i]);
        }
      } else if (step.kind === 'wildcard') {
        if (Array.isArray(v)) next.push(...v);
        else if (v && typeof v === 'object') next.push(...Object.values(v));
      } else if (Array.isArray(v)) {
        for (const item of v) {
          const got = step.path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), item);
          if ((got === step.value) === (step.op === '==')) next.push(item);
        }
      }
    }
    current = next;
  }
  return current;
}
