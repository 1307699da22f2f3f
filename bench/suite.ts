// What a benchmark suite is, what it gets to run with, and the registry that finds suites by name.
import type { Cleanup } from './cleanup.js';
import type { BenchRecord, BenchTarget } from './record.js';

export interface SuiteContext {
  /** Short durations and fewer samples, so a whole run takes under a minute. */
  quick: boolean;
  /** Records one number (printed as a JSON line at once). */
  emit(record: BenchRecord): void;
  /** Declares a target shown beside the matching record in the summary. */
  target(target: BenchTarget): void;
  /** Progress messages for the operator (stderr), never results. */
  log(message: string): void;
  /** Teardown of everything the suite starts; runs on failure and on Ctrl-C too. */
  cleanup: Cleanup;
  /** Aborted on Ctrl-C / SIGTERM: stop measuring and return. */
  signal: AbortSignal;
}

export interface Suite {
  name: string;
  description: string;
  run(ctx: SuiteContext): Promise<void>;
}

export class UnknownSuiteError extends Error {}

/** Suites by name; each suite module exports its Suite and run.ts registers it. */
export class SuiteRegistry {
  private readonly suites = new Map<string, Suite>();

  register(suite: Suite): void {
    if (this.suites.has(suite.name)) throw new Error(`bench suite "${suite.name}" is registered twice`);
    this.suites.set(suite.name, suite);
  }

  names(): string[] {
    return [...this.suites.keys()];
  }

  list(): Suite[] {
    return [...this.suites.values()];
  }

  /** The suites for `names`, in order, each once; throws UnknownSuiteError naming the known suites. */
  resolve(names: readonly string[]): Suite[] {
    const unknown = names.filter((n) => !this.suites.has(n));
    if (unknown.length > 0) {
      const known = this.list()
        .map((s) => `  ${s.name} — ${s.description}`)
        .join('\n');
      throw new UnknownSuiteError(`unknown bench suite${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}\nknown suites:\n${known}`);
    }
    return [...new Set(names)].map((n) => this.suites.get(n)!);
  }
}
