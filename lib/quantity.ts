// Kubernetes resource quantities ("100m", "0.5", "128Mi", "1G") to milli-CPU and bytes.

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const DECIMAL: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** CPU quantity to millicores: "250m" → 250, "2" → 2000. Undefined when malformed. */
export function parseMilliCpu(value: string | number): number | undefined {
  if (typeof value === 'number') return value >= 0 ? Math.round(value * 1000) : undefined;
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(value.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return Math.round(m[2] === 'm' ? n : n * 1000);
}

/** Memory quantity to bytes: "128Mi" → 134217728, "1G" → 1e9. Undefined when malformed. */
export function parseBytes(value: string | number): number | undefined {
  if (typeof value === 'number') return value >= 0 ? Math.round(value) : undefined;
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T|)$/.exec(value.trim());
  if (!m) return undefined;
  const unit = BINARY[m[2]] ?? DECIMAL[m[2]];
  return Math.round(Number(m[1]) * unit);
}
