/**
 * Kubernetes resource quantities ("500m", "2", "128Mi", "1G", "1e3") as numbers. CPU is returned in millicores,
 * everything else in base units (bytes, counts). Throws on malformed input, naming it.
 */
const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/;

export class QuantityError extends Error {
  constructor(value: unknown) {
    super(`invalid quantity ${JSON.stringify(value)}: expected a number with an optional suffix such as 500m, 128Mi or 1G`);
    this.name = 'QuantityError';
  }
}

export function parseQuantity(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new QuantityError(value);
    return value;
  }
  const m = QUANTITY.exec(String(value).trim());
  if (!m) throw new QuantityError(value);
  const base = Number(m[1]);
  if (m[2]) return base * 10 ** Number(m[2].slice(1));
  const suffix = m[3] ?? '';
  return base * (BINARY[suffix] ?? DECIMAL[suffix]);
}

/** CPU quantity in millicores ("500m" → 500, "2" → 2000). */
export function parseCpuMillis(value: string | number): number {
  return Math.round(parseQuantity(value) * 1000);
}

/** Memory (or any byte) quantity in whole bytes. */
export function parseBytes(value: string | number): number {
  return Math.ceil(parseQuantity(value));
}
