/**
 * Label selectors (`a=b,c!=d,e in (f,g),h notin (i),j,!k`) and field selectors (`metadata.name=x,spec.nodeName!=y`)
 * as Kubernetes parses them. Malformed selectors are a 400.
 */
import { badRequest } from '../server/errors';

export type Predicate = (obj: Record<string, unknown>) => boolean;

type Requirement =
  | { key: string; op: 'eq' | 'neq'; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'notexists' };

/** Splits on commas that are not inside parentheses. */
const splitTopLevel = (s: string): string[] => {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')') depth--;
    else if (s[i] === ',' && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
};

const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const checkKey = (key: string, selector: string): string => {
  if (!LABEL_KEY.test(key)) throw badRequest(`unable to parse requirement: invalid label key "${key}" in selector "${selector}"`);
  return key;
};
const checkValue = (value: string, selector: string): string => {
  if (!LABEL_VALUE.test(value) || value.length > 63)
    throw badRequest(`unable to parse requirement: invalid label value "${value}" in selector "${selector}"`);
  return value;
};

const parseLabelRequirement = (part: string, selector: string): Requirement => {
  const setMatch = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(part);
  if (setMatch) {
    const values = setMatch[3].split(',').map((v) => checkValue(v.trim(), selector));
    return { key: checkKey(setMatch[1], selector), op: setMatch[2] as 'in' | 'notin', values };
  }
  const cmp = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
  if (cmp) {
    const op = cmp[2] === '!=' ? 'neq' : 'eq';
    return { key: checkKey(cmp[1], selector), op, value: checkValue(cmp[3].trim(), selector) };
  }
  if (part.startsWith('!')) return { key: checkKey(part.slice(1).trim(), selector), op: 'notexists' };
  return { key: checkKey(part, selector), op: 'exists' };
};

const matches = (req: Requirement, labels: Record<string, string>): boolean => {
  const has = Object.prototype.hasOwnProperty.call(labels, req.key);
  const value = labels[req.key];
  switch (req.op) {
    case 'eq':
      return has && value === req.value;
    case 'neq':
      return !has || value !== req.value;
    case 'in':
      return has && req.values.includes(value);
    case 'notin':
      return !has || !req.values.includes(value);
    case 'exists':
      return has;
    case 'notexists':
      return !has;
  }
};

/** Matches a plain `{key: value}` label map (e.g. a Service's spec.selector). */
export const parseLabelSelector = (selector: string): ((labels: Record<string, string> | undefined) => boolean) => {
  const requirements = splitTopLevel(selector).map((p) => parseLabelRequirement(p, selector));
  return (labels) => requirements.every((r) => matches(r, labels ?? {}));
};

/** Reads a dotted path (`spec.nodeName`) from an object; undefined if any step is missing. */
export const readPath = (obj: unknown, path: string): unknown => {
  let cur: unknown = obj;
  for (const step of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[step];
  }
  return cur;
};

const fieldValue = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

export const parseFieldSelector = (selector: string): Predicate => {
  const requirements = splitTopLevel(selector).map((part) => {
    const m = /^([A-Za-z0-9_.\-/]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
    return { path: m[1], negate: m[2] === '!=', value: m[3].trim() };
  });
  return (obj) => requirements.every((r) => (fieldValue(readPath(obj, r.path)) === r.value) !== r.negate);
};

/** One predicate for both selectors (either may be absent). */
export const selectionPredicate = (labelSelector?: string, fieldSelector?: string): Predicate | undefined => {
  const byLabels = labelSelector ? parseLabelSelector(labelSelector) : undefined;
  const byFields = fieldSelector ? parseFieldSelector(fieldSelector) : undefined;
  if (!byLabels && !byFields) return undefined;
  return (obj) =>
    (!byLabels || byLabels(readPath(obj, 'metadata.labels') as Record<string, string> | undefined)) &&
    (!byFields || byFields(obj));
};
