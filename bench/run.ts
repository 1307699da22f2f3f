#!/usr/bin/env node
// `npm run bench -- <suite...> [--quick] [--out file]`: runs benchmark suites, prints JSON lines (stdout) and a summary
// table (stderr), and saves the lines under bench/results/. Numbers are informational; nothing here is asserted.
import { Command } from 'commander';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { DIST_DIR } from '../cli/components.js';
import { Cleanup } from './cleanup.js';
import { formatRecordLine, type BenchRecord, type BenchTarget } from './record.js';
import { createRegistry } from './registry.js';
import { UnknownSuiteError, type Suite } from './suite.js';
import { formatTable, summarizeTargets } from './table.js';

const REPO_ROOT = path.resolve(DIST_DIR, '..');

/** bench/results/<suites>-<UTC timestamp>.jsonl */
function defaultOutFile(suites: readonly Suite[], now: Date): string {
  const stamp = now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  return path.join(REPO_ROOT, 'bench', 'results', `${suites.map((s) => s.name).join('-')}-${stamp}.jsonl`);
}

interface RunOptions {
  quick: boolean;
  out?: string;
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

async function runSuites(suites: readonly Suite[], options: RunOptions): Promise<number> {
  const outFile = options.out ? path.resolve(options.out) : defaultOutFile(suites, new Date());
  mkdirSync(path.dirname(outFile), { recursive: true });
  const out = openSync(outFile, 'w');
  const records: BenchRecord[] = [];
  const targets: BenchTarget[] = [];
  const cleanup = new Cleanup((label, err) => log(`cleanup of ${label} failed: ${(err as Error).message ?? String(err)}`));
  const abort = new AbortController();

  // First signal: stop measuring, tear everything down, exit. Second: exit at once (children die with us anyway).
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) {
      log('forced exit');
      process.exit(1);
    }
    interrupted = true;
    log(`${signal}: stopping and cleaning up (again to force)`);
    abort.abort();
    void cleanup.runAll().then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let failed = false;
  try {
    for (const suite of suites) {
      if (abort.signal.aborted) break;
      log(`suite ${suite.name}${options.quick ? ' (quick)' : ''}`);
      try {
        await suite.run({
          quick: options.quick,
          emit: (record) => {
            const line = `${formatRecordLine(record)}\n`;
            records.push(record);
            process.stdout.write(line);
            writeSync(out, line);
          },
          target: (target) => targets.push(target),
          log: (message) => log(`${suite.name}: ${message}`),
          cleanup,
          signal: abort.signal,
        });
      } catch (err) {
        failed = true;
        log(`suite ${suite.name} failed: ${(err as Error).stack ?? String(err)}`);
      } finally {
        await cleanup.runAll();
      }
    }
  } finally {
    closeSync(out);
  }
  if (interrupted) return 130;

  const { pass, miss } = summarizeTargets(records, targets);
  process.stderr.write(`\n==== bench summary ====\n${formatTable(records, targets)}\n\n`);
  process.stderr.write(`targets: ${pass} PASS, ${miss} MISS (informational)\nresults: ${outFile}\n`);
  return failed ? 1 : 0;
}

async function main(argv: string[]): Promise<number> {
  const registry = createRegistry();
  let exitCode = 0;
  const suiteList = registry
    .list()
    .map((s) => `  ${s.name.padEnd(10)} ${s.description}`)
    .join('\n');
  const program = new Command()
    .name('bench')
    .description('Sluice benchmarks: JSON lines on stdout, a summary table on stderr, results saved under bench/results/')
    .argument('<suite...>', 'suites to run, in order')
    .option('--quick', 'short runs (under a minute per suite)', false)
    .option('--out <file>', 'where to write the JSON lines (default: bench/results/<suites>-<timestamp>.jsonl)')
    .addHelpText('after', `\nSuites:\n${suiteList}\n`)
    .showHelpAfterError()
    .action(async (names: string[], opts: { quick: boolean; out?: string }) => {
      let suites: Suite[];
      try {
        suites = registry.resolve(names);
      } catch (err) {
        if (!(err instanceof UnknownSuiteError)) throw err;
        process.stderr.write(`bench: ${err.message}\n`);
        exitCode = 2;
        return;
      }
      exitCode = await runSuites(suites, { quick: opts.quick, out: opts.out });
    });
  await program.parseAsync(argv);
  return exitCode;
}

process.exitCode = await main(process.argv);
// Servers' keep-alive sockets or grpc channels must not keep the benchmark alive once it is done.
setTimeout(() => process.exit(), 2_000).unref();
