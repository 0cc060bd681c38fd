/**
 * Secret values never appear in error messages (issue 8). Field errors quote the offending value
 * (`data[password]: Invalid value: "…"`, as Kubernetes does); for a Secret every value of `data` and `stringData` is
 * replaced by `[redacted]` in the messages, whatever rule produced them, including the cut form of a long value.
 */
import type { FieldError } from './types';

const REDACTED = '"[redacted]"';
/** formatValue's cut: first 117 characters and `...` past 120. */
const CUT_AT = 120;

const secretValues = (obj: Record<string, unknown>): string[] => {
  const values: string[] = [];
  for (const field of ['data', 'stringData']) {
    const map = obj[field];
    if (map && typeof map === 'object' && !Array.isArray(map)) {
      for (const v of Object.values(map)) if (v !== undefined && v !== null && v !== '') values.push(typeof v === 'string' ? v : JSON.stringify(v));
    } else if (typeof map === 'string' && map !== '') values.push(map);
  }
  // Longest first, so a value containing another is replaced whole.
  return values.sort((a, b) => b.length - a.length);
};

const redact = (message: string, values: readonly string[]): string => {
  let out = message;
  for (const v of values) {
    const quoted = JSON.stringify(v);
    out = out.split(quoted).join(REDACTED);
    if (quoted.length > CUT_AT) out = out.split(`${quoted.slice(0, CUT_AT - 3)}...`).join(REDACTED);
    // Unquoted echoes (rule texts that print the value bare); very short values would mangle the wording instead.
    if (v.length >= 4) out = out.split(v).join('[redacted]');
  }
  return out;
};

/** `errors` for Secret `obj` with every data/stringData value taken out of the messages. */
export function redactSecretValues(obj: Record<string, unknown>, errors: FieldError[]): FieldError[] {
  const values = secretValues(obj);
  if (values.length === 0) return errors;
  return errors.map((e) => ({ ...e, message: redact(e.message, values) }));
}
