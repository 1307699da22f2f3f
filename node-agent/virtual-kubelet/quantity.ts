// TEST INFRASTRUCTURE (virtual kubelet). Kubernetes resource quantities ("250m", "1.5", "128Mi", "1e3") in exact arithmetic.
//
// The downward API rounds up: resourceFieldRef values are ceil(value / divisor), computed from
// Quantity.MilliValue() / Value() (which round up too). Floats would turn "0.3" into 300.00000000000006
// milli and then ceil it to 301, so the parse is exact (BigInt mantissa, decimal and binary exponents).
// lib/quantity.ts covers what the local platform needs; this is the full Kubernetes grammar.

const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/** value = mantissa × 10^exp10 × 2^exp2. */
export interface ParsedQuantity {
  mantissa: bigint;
  exp10: number;
  exp2: number;
}

const QUANTITY = /^([+-]?)(\d*)(?:\.(\d*))?(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d+))?$/;

/** Undefined when `text` is not a Kubernetes quantity. */
export function parseQuantity(text: string | number): ParsedQuantity | undefined {
  const s = String(text).trim();
  const m = QUANTITY.exec(s);
  if (!m) return undefined;
  const [, sign, whole = '', frac = '', suffix, exponent] = m;
  if (whole === '' && frac === '') return undefined;
  let mantissa = BigInt((whole || '0') + frac);
  if (sign === '-') mantissa = -mantissa;
  let exp10 = -frac.length;
  let exp2 = 0;
  if (suffix !== undefined) {
    if (suffix in BINARY) exp2 = BINARY[suffix];
    else exp10 += DECIMAL[suffix];
  } else if (exponent !== undefined) {
    exp10 += Number(exponent);
  }
  return { mantissa, exp10, exp2 };
}

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return q * b < a ? q + 1n : q;
}

/** ceil(q × 10^shift) as BigInt. */
function scaled(q: ParsedQuantity, shift: number): bigint {
  const e = q.exp10 + shift;
  const numerator = q.mantissa * 2n ** BigInt(q.exp2) * (e > 0 ? 10n ** BigInt(e) : 1n);
  return e >= 0 ? numerator : ceilDiv(numerator, 10n ** BigInt(-e));
}

/** Quantity.Value(): the value rounded up to an integer. */
export function quantityValue(q: ParsedQuantity): bigint {
  return scaled(q, 0);
}

/** Quantity.MilliValue(): the value × 1000 rounded up. */
export function quantityMilliValue(q: ParsedQuantity): bigint {
  return scaled(q, 3);
}

/** Whether the quantity is zero (an unset or "0" divisor means 1 in the downward API). */
export function isZero(q: ParsedQuantity): boolean {
  return q.mantissa === 0n;
}

/** A CPU quantity as the node object's capacity shows it: whole cores as "4", otherwise millicores "1500m". */
export function formatMilliCpu(milli: number): string {
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

/** A byte count as a quantity, in Ki when it divides evenly (as kubelet reports memory capacity). */
export function formatBytes(bytes: number): string {
  return bytes % 1024 === 0 ? `${bytes / 1024}Ki` : String(bytes);
}
