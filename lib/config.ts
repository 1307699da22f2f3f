// Config helpers shared by every component: kebab-case keys from env or files, typed parsing, errors naming the key.
import { parseBytes } from './quantity.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses "250ms", "6s", "1m30s", "2h" (or a bare number of milliseconds) into milliseconds. */
export function parseDurationMs(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    consumed = re.lastIndex;
  }
  return consumed === text.length && consumed > 0 ? total : undefined;
}

export function formatDurationMs(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** A source of raw config values by kebab-case key. */
export type RawConfig = Readonly<Record<string, string | number | boolean | undefined>>;

/**
 * Reads `SLUICE_<PREFIX>_<KEY>` environment variables into kebab-case keys:
 * SLUICE_ACTIVATOR_QUEUE_DEPTH=5 → { "queue-depth": "5" } for prefix "ACTIVATOR".
 */
export function rawConfigFromEnv(prefix: string, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const start = `SLUICE_${prefix}_`;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !name.startsWith(start)) continue;
    const rest = name.slice(start.length);
    if (isServiceLinkVariable(rest, value)) continue;
    out[rest.toLowerCase().replaceAll('_', '-')] = value;
  }
  return out;
}

/**
 * The kubelet gives every pod variables for the Services of its namespace, named after them:
 * the Service sluice-autoscaler yields SLUICE_AUTOSCALER_SERVICE_HOST, SLUICE_AUTOSCALER_PORT=tcp://…,
 * SLUICE_AUTOSCALER_PORT_8090_TCP_ADDR, … which fall inside the component's own prefix. They are
 * addresses, not settings (and no setting has such a name), so they are left out.
 */
function isServiceLinkVariable(rest: string, value: string): boolean {
  if (/^SERVICE_(HOST|PORT(_[A-Z0-9_]+)?)$/.test(rest)) return true;
  if (/^PORT_\d+_(TCP|UDP|SCTP)(_PROTO|_PORT|_ADDR)?$/.test(rest)) return true;
  return rest === 'PORT' && /^(tcp|udp|sctp):\/\//.test(value);
}

/** Typed readers that throw ConfigError naming the key, the bad value and the allowed range. */
export class ConfigReader {
  private readonly seen = new Set<string>();

  constructor(private readonly raw: RawConfig, private readonly component: string) {}

  private get(key: string): string | number | boolean | undefined {
    this.seen.add(key);
    return this.raw[key];
  }

  string(key: string, fallback: string, allowed?: readonly string[]): string {
    const v = this.get(key);
    if (v === undefined || v === '') return fallback;
    const s = String(v);
    if (allowed && !allowed.includes(s)) {
      throw new ConfigError(`${this.component}: ${key} = ${s}, must be one of ${allowed.join(', ')}`);
    }
    return s;
  }

  number(key: string, fallback: number, min: number, max: number, integer = false): number {
    const v = this.get(key);
    if (v === undefined || v === '') return fallback;
    const n = typeof v === 'number' ? v : Number(v);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new ConfigError(
        `${this.component}: ${key} = ${String(v)}, must be ${integer ? 'an integer' : 'a number'} in [${min}; ${max}]`,
      );
    }
    return n;
  }

  int(key: string, fallback: number, min: number, max: number): number {
    return this.number(key, fallback, min, max, true);
  }

  durationMs(key: string, fallbackMs: number, minMs: number, maxMs: number): number {
    const v = this.get(key);
    if (v === undefined || v === '') return fallbackMs;
    const ms = typeof v === 'boolean' ? undefined : parseDurationMs(v);
    if (ms === undefined || ms < minMs || ms > maxMs) {
      throw new ConfigError(
        `${this.component}: ${key} = ${String(v)}, must be a duration in [${formatDurationMs(minMs)}; ${formatDurationMs(maxMs)}]`,
      );
    }
    return ms;
  }

  /** A byte size: a plain number or a quantity such as "64Ki", "5Mi". */
  bytes(key: string, fallback: number, min: number, max: number): number {
    const v = this.get(key);
    if (v === undefined || v === '') return fallback;
    const n = typeof v === 'boolean' ? undefined : parseBytes(v);
    if (n === undefined || n < min || n > max) {
      throw new ConfigError(`${this.component}: ${key} = ${String(v)}, must be a byte size (e.g. 64Ki, 5Mi) in [${min}; ${max}]`);
    }
    return n;
  }

  boolean(key: string, fallback: boolean): boolean {
    const v = this.get(key);
    if (v === undefined || v === '') return fallback;
    if (v === true || v === 'true' || v === '1') return true;
    if (v === false || v === 'false' || v === '0') return false;
    throw new ConfigError(`${this.component}: ${key} = ${String(v)}, must be true or false`);
  }

  /** Throws for keys that no reader asked for: a typo must not be silently ignored. */
  rejectUnknown(): void {
    const unknown = Object.keys(this.raw).filter((k) => !this.seen.has(k) && this.raw[k] !== undefined);
    if (unknown.length > 0) {
      throw new ConfigError(`${this.component}: unknown config key ${unknown.map((k) => `"${k}"`).join(', ')}`);
    }
  }
}
