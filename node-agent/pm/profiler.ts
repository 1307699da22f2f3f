// The online PM profiler of a node: per function, what one invocation reads from and writes to PM,
// how long it runs and how much concurrent writers slow it down, learnt from the invocations the node
// runs (paper 000 §V: online profiler and per-function I/O prediction by moving averages).
//
// Inputs: the SDK's usage report at the end of each invocation (bytes read and written) and the
// queue-proxy's release (wall time, and the writers that were running). Outputs: predict() for
// metrics and placement, classify() for admission, demand() for the fair queue. The state is plain
// numbers so profile-store.ts can keep it across node-agent restarts.
import os from 'node:os';
import { DEFAULT_CONTENTION } from './contention-model.js';
import type { AdmissionClass, Demand, PmProfile } from './types.js';

export const DEFAULT_ALPHA = 0.2;
/**
 * Per-sample forgetting of the sensitivity fit. The fit needs more memory than the averages (a slope
 * from five samples is mostly noise): 0.98 weighs the last ~50 samples, and still follows a function
 * whose behaviour changes.
 */
export const DEFAULT_FIT_DECAY = 0.98;
/**
 * The fit reports a slope only when the writer counts it saw spread at least this much (variance, in
 * writers²); otherwise every sample sat at about the same concurrency and the slope is unknown, so
 * the previous estimate stands.
 */
const MIN_WRITER_VARIANCE = 0.01;

/** What the node has, for turning a profile into shares (see demand()). */
export interface PmCapacity {
  cpuCores: number;
  /** Aggregate PM bandwidths at their peaks. */
  readBytesPerSecond: number;
  writeBytesPerSecond: number;
}

export interface PmProfilerOptions {
  /** Weight of the newest sample in the moving averages, in (0; 1]. Default 0.2. */
  alpha?: number;
  /** Forgetting factor of the sensitivity fit, in (0; 1] (1 = never forget). Default 0.98. */
  fitDecay?: number;
  /**
   * The class of a function with no usage report yet. Default 'reader': a function that has never
   * said it writes PM is not held back (most functions do not use PM at all, and holding every new
   * function behind the writers would slow all of them for the sake of a few); its first report
   * corrects it. 'writer' is the cautious choice for a node that serves mostly PM writers.
   */
  unknownAs?: AdmissionClass;
  /** Default: this machine's cores and the emulated device's default peaks (contention-model.ts). */
  capacity?: Partial<PmCapacity>;
}

/** One invocation's PM use, from the SDK. */
export interface PmUsage {
  readBytes: number;
  writtenBytes: number;
}

/** The weighted sums of an exponentially-forgetting least-squares fit of duration on (writers − 1). */
interface Fit {
  w: number;
  x: number;
  y: number;
  xx: number;
  xy: number;
}

interface FunctionProfile {
  readBytes: number;
  writtenBytes: number;
  usageSamples: number;
  durationMs: number;
  durationSamples: number;
  sensitivity: number;
  fit: Fit;
}

/** The profiler's state as saved by profile-store.ts. */
export interface PmProfilerState {
  version: 1;
  functions: Record<string, FunctionProfileState>;
}

export interface FunctionProfileState {
  readBytes: number;
  writtenBytes: number;
  usageSamples: number;
  durationMs: number;
  durationSamples: number;
  sensitivity: number;
  /** [w, Σwx, Σwy, Σwx², Σwxy] */
  fit: [number, number, number, number, number];
}

/** The profiler's key of a function. */
export function functionKey(namespace: string, name: string): string {
  return `${namespace || 'default'}/${name}`;
}

export class PmProfiler {
  private readonly alpha: number;
  private readonly fitDecay: number;
  private readonly unknownAs: AdmissionClass;
  private readonly capacity: PmCapacity;
  private readonly profiles = new Map<string, FunctionProfile>();
  private readonly listeners = new Set<() => void>();

  constructor(options: PmProfilerOptions = {}) {
    this.alpha = options.alpha ?? DEFAULT_ALPHA;
    this.fitDecay = options.fitDecay ?? DEFAULT_FIT_DECAY;
    if (!(this.alpha > 0 && this.alpha <= 1)) throw new RangeError(`alpha ${this.alpha} must be in (0; 1]`);
    if (!(this.fitDecay > 0 && this.fitDecay <= 1)) throw new RangeError(`fitDecay ${this.fitDecay} must be in (0; 1]`);
    this.unknownAs = options.unknownAs ?? 'reader';
    this.capacity = {
      cpuCores: options.capacity?.cpuCores ?? os.availableParallelism(),
      readBytesPerSecond: options.capacity?.readBytesPerSecond ?? DEFAULT_CONTENTION.readPeakBytesPerSecond,
      writeBytesPerSecond: options.capacity?.writeBytesPerSecond ?? DEFAULT_CONTENTION.writePeakBytesPerSecond,
    };
    for (const [name, value] of Object.entries(this.capacity)) {
      if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`capacity.${name} ${value} must be a positive number`);
    }
  }

  /** One invocation's usage report. Returns false (and learns nothing) for negative or non-finite byte counts. */
  record(fn: string, usage: PmUsage): boolean {
    if (!isCount(usage.readBytes) || !isCount(usage.writtenBytes)) return false;
    const p = this.profile(fn);
    p.readBytes = this.average(p.readBytes, usage.readBytes, p.usageSamples);
    p.writtenBytes = this.average(p.writtenBytes, usage.writtenBytes, p.usageSamples);
    p.usageSamples++;
    this.changed();
    return true;
  }

  /**
   * One invocation's wall time after admission and the PM writers running meanwhile, itself included
   * when it writes (PmAdmission's Released.meanWriters, or the count at its grant). The duration goes
   * into the average; (writers, duration) into the sensitivity fit, when writers ≥ 1 — a reader's
   * sample (0 writers of its own) says nothing about the slowdown of a writer per extra writer.
   * Returns false for a duration that is not a positive number.
   */
  recordDuration(fn: string, durationMs: number, writers: number): boolean {
    if (!(Number.isFinite(durationMs) && durationMs > 0)) return false;
    const p = this.profile(fn);
    p.durationMs = this.average(p.durationMs, durationMs, p.durationSamples);
    p.durationSamples++;
    if (Number.isFinite(writers) && writers >= 1) this.fitSample(p, writers - 1, durationMs);
    this.changed();
    return true;
  }

  /** What one invocation of `fn` is expected to do, or undefined for a function never seen. */
  predict(fn: string): PmProfile | undefined {
    const p = this.profiles.get(fn);
    return p && toProfile(p);
  }

  /**
   * 'writer' when the predicted bytes written per invocation reach `thresholdBytes`. A function with
   * no usage report yet gets `unknownAs` (default 'reader': see PmProfilerOptions.unknownAs).
   */
  classify(fn: string, thresholdBytes: number): AdmissionClass {
    const p = this.profiles.get(fn);
    if (!p || p.usageSamples === 0) return this.unknownAs;
    return p.writtenBytes >= thresholdBytes ? 'writer' : 'reader';
  }

  /**
   * The fair queue's demand of one invocation of `fn`: per resource, the seconds of the whole node's
   * capacity it uses —
   *   pmWrite = written bytes / aggregate PM write bandwidth at its peak,
   *   pmRead  = read bytes / aggregate PM read bandwidth at its peak,
   *   cpu     = wall time / cores.
   * Same units on every resource, so the dominant share compares across them as DRF needs. The CPU
   * term is an upper bound: we see wall time, not CPU time, so an invocation is taken to keep one
   * core busy throughout (time it spends waiting on PM counts as CPU).
   * A function never seen gets the mean demand of the functions known (zero when none is: the fair
   * queue then charges its floor), so a newcomer is neither favoured nor penalised much until its
   * first report.
   */
  demand(fn: string): Demand {
    const p = this.profiles.get(fn);
    if (p && (p.usageSamples > 0 || p.durationSamples > 0)) return this.demandOf(p);
    const sum: Demand = { cpu: 0, pmRead: 0, pmWrite: 0 };
    let n = 0;
    for (const known of this.profiles.values()) {
      const d = this.demandOf(known);
      sum.cpu += d.cpu;
      sum.pmRead += d.pmRead;
      sum.pmWrite += d.pmWrite;
      n++;
    }
    return n === 0 ? sum : { cpu: sum.cpu / n, pmRead: sum.pmRead / n, pmWrite: sum.pmWrite / n };
  }

  /** Every function's profile (for metrics). */
  *entries(): IterableIterator<[string, PmProfile]> {
    for (const [fn, p] of this.profiles) yield [fn, toProfile(p)];
  }

  get size(): number {
    return this.profiles.size;
  }

  /** Drops a function's profile (the function was deleted). */
  forget(fn: string): boolean {
    const had = this.profiles.delete(fn);
    if (had) this.changed();
    return had;
  }

  /** Calls `listener` after every change; returns the function that stops it. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): PmProfilerState {
    const functions: Record<string, FunctionProfileState> = {};
    for (const [fn, p] of this.profiles) {
      functions[fn] = {
        readBytes: p.readBytes,
        writtenBytes: p.writtenBytes,
        usageSamples: p.usageSamples,
        durationMs: p.durationMs,
        durationSamples: p.durationSamples,
        sensitivity: p.sensitivity,
        fit: [p.fit.w, p.fit.x, p.fit.y, p.fit.xx, p.fit.xy],
      };
    }
    return { version: 1, functions };
  }

  /** Takes the profiles of a saved state (from parseProfilerState), replacing those of the same functions. Undefined: nothing to restore. */
  restore(state: PmProfilerState | undefined): void {
    if (!state) return;
    for (const [fn, s] of Object.entries(state.functions)) {
      const [w, x, y, xx, xy] = s.fit;
      this.profiles.set(fn, {
        readBytes: s.readBytes,
        writtenBytes: s.writtenBytes,
        usageSamples: s.usageSamples,
        durationMs: s.durationMs,
        durationSamples: s.durationSamples,
        sensitivity: s.sensitivity,
        fit: { w, x, y, xx, xy },
      });
    }
    // Listeners are not told: the state restored is the state already saved.
  }

  private profile(fn: string): FunctionProfile {
    let p = this.profiles.get(fn);
    if (!p) {
      p = { readBytes: 0, writtenBytes: 0, usageSamples: 0, durationMs: 0, durationSamples: 0, sensitivity: 0, fit: { w: 0, x: 0, y: 0, xx: 0, xy: 0 } };
      this.profiles.set(fn, p);
    }
    return p;
  }

  // EWMA; the first sample initialises it (starting from 0 would take ~1/alpha samples to climb up).
  private average(current: number, sample: number, samples: number): number {
    return samples === 0 ? sample : current + this.alpha * (sample - current);
  }

  // Exponentially-forgetting weighted least squares of duration ≈ a + b·x, x = writers − 1; then
  // duration ≈ base × (1 + s·x) with base = a and s = b / a.
  private fitSample(p: FunctionProfile, x: number, y: number): void {
    const f = p.fit;
    const k = this.fitDecay;
    f.w = f.w * k + 1;
    f.x = f.x * k + x;
    f.y = f.y * k + y;
    f.xx = f.xx * k + x * x;
    f.xy = f.xy * k + x * y;
    const meanX = f.x / f.w;
    const meanY = f.y / f.w;
    const varX = f.xx / f.w - meanX * meanX;
    if (!(varX >= MIN_WRITER_VARIANCE)) return;
    const b = (f.xy / f.w - meanX * meanY) / varX;
    const a = meanY - b * meanX;
    // A non-positive base means the line is nonsense at one writer (noise, or a few outliers): keep
    // the previous estimate. A negative slope (faster with more writers) is noise too: 0.
    if (a > 0) p.sensitivity = Math.max(0, b / a);
  }

  private demandOf(p: FunctionProfile): Demand {
    return {
      cpu: p.durationMs / 1000 / this.capacity.cpuCores,
      pmRead: p.readBytes / this.capacity.readBytesPerSecond,
      pmWrite: p.writtenBytes / this.capacity.writeBytesPerSecond,
    };
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}

function toProfile(p: FunctionProfile): PmProfile {
  // samples counts usage reports: the basis of the byte predictions and of classify().
  return { readBytes: p.readBytes, writtenBytes: p.writtenBytes, durationMs: p.durationMs, sensitivity: p.sensitivity, samples: p.usageSamples };
}

function isCount(value: number): boolean {
  return Number.isFinite(value) && value >= 0;
}

/**
 * Checks a parsed JSON value as a saved profiler state. Throws when it is not one at all (wrong
 * version or shape); a single function entry that is malformed is left out and named in `skipped`,
 * so one bad entry costs one function's history, not every function's.
 */
export function parseProfilerState(json: unknown): { state: PmProfilerState; skipped: string[] } {
  if (!isObject(json)) throw new Error('not a JSON object');
  if (json.version !== 1) throw new Error(`unknown version ${JSON.stringify(json.version)} (want 1)`);
  if (!isObject(json.functions)) throw new Error('"functions" is not an object');
  const functions: Record<string, FunctionProfileState> = {};
  const skipped: string[] = [];
  for (const [fn, entry] of Object.entries(json.functions)) {
    if (isFunctionState(entry)) {
      const [w, x, y, xx, xy] = entry.fit;
      functions[fn] = {
        readBytes: entry.readBytes,
        writtenBytes: entry.writtenBytes,
        usageSamples: entry.usageSamples,
        durationMs: entry.durationMs,
        durationSamples: entry.durationSamples,
        sensitivity: entry.sensitivity,
        fit: [w, x, y, xx, xy],
      };
    } else skipped.push(fn);
  }
  return { state: { version: 1, functions }, skipped };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFunctionState(value: unknown): value is FunctionProfileState {
  if (!isObject(value)) return false;
  const nonNegative = (key: string) => typeof value[key] === 'number' && isCount(value[key] as number);
  const samples = (key: string) => nonNegative(key) && Number.isInteger(value[key]);
  const fit = value.fit;
  return (
    nonNegative('readBytes') &&
    nonNegative('writtenBytes') &&
    nonNegative('durationMs') &&
    nonNegative('sensitivity') &&
    samples('usageSamples') &&
    samples('durationSamples') &&
    Array.isArray(fit) &&
    fit.length === 5 &&
    fit.every((n) => typeof n === 'number' && Number.isFinite(n)) &&
    (fit[0] as number) >= 0
  );
}
