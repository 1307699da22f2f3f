#!/usr/bin/env node
// The `sluice` command: up (local cluster), invoke, status.
import { Command, InvalidArgumentError } from 'commander';
import { FunctionSpecError } from '../lib/function-spec.js';
import { up } from './up.js';
import { invoke } from './invoke.js';
import { status } from './status.js';
import { readState } from './state-file.js';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { DIST_DIR } from './components.js';

function intArg(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be an integer in [${min}; ${max}]`);
    return n;
  };
}

function runningCluster(): { ingressUrl: string; platformAddress: string; domain: string } {
  const state = readState();
  if (!state) throw new UsageError('no local Sluice cluster is running (start one with `sluice up`, or pass --url / --platform)');
  return state;
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command()
    .name('sluice')
    .description('Sluice: a serverless control plane with expedited data transfers, PM-aware admission and locality')
    .showHelpAfterError();

  program
    .command('up')
    .description('start a local Sluice cluster (activator, autoscaler, scheduler, node agents) and deploy the Functions')
    .option('-f, --file <file>', 'Functions YAML file', 'examples/functions.yaml')
    .option('--nodes <n>', 'number of local nodes', intArg(1, 16), 2)
    .option('--port <port>', 'activator (ingress) port, 0 = any free port', intArg(0, 65535), 8080)
    .option('--domain <domain>', 'domain for Host routing (<fn>.<ns>.<domain>)', 'sluice.localhost')
    .option('--subnet-base <n>', 'loopback subnet of node 1 (127.0.<n>.0/24)', intArg(1, 240), 1)
    .option('--log-dir <dir>', 'where component and instance logs go (default: a new temp dir)')
    .action(async (opts: { file: string; nodes: number; port: number; domain: string; subnetBase: number; logDir?: string }) => {
      exitCode = await up(opts);
    });

  program
    .command('invoke <function>')
    .description('call a function through the activator and print its answer')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('-p, --path <path>', 'request path', '/')
    .option('-X, --method <method>', 'HTTP method (default GET, or POST with data)')
    .option('-d, --data <text>', 'request body')
    .option('--data-file <file>', 'request body from a file (- for stdin), streamed')
    .option('-H, --header <header...>', 'extra request header "name: value"', [])
    .option('--url <url>', 'ingress URL (default: the running local cluster)')
    .action(async (fn: string, opts: { namespace: string; path: string; method?: string; data?: string; dataFile?: string; header: string[]; url?: string }) => {
      const cluster = opts.url ? { ingressUrl: opts.url, domain: 'sluice.localhost' } : runningCluster();
      exitCode = await invoke({
        ingressUrl: cluster.ingressUrl,
        domain: cluster.domain,
        function: fn,
        namespace: opts.namespace,
        path: opts.path,
        method: opts.method,
        data: opts.data,
        dataFile: opts.dataFile,
        headers: opts.header,
      });
    });

  program
    .command('status')
    .description('functions, instances per node, desired vs actual scale')
    .option('--platform <address>', 'local platform API address (default: the running local cluster)')
    .option('--json', 'print JSON')
    .action(async (opts: { platform?: string; json?: boolean }) => {
      exitCode = await status(opts.platform ?? runningCluster().platformAddress, opts.json ?? false);
    });

  program
    .command('bench <suite...>')
    .description('run benchmark suites (e.g. serving), as `npm run bench -- <suite...>` does')
    .option('--quick', 'short runs')
    .option('--out <file>', 'where to write the JSON lines')
    .action(async (suites: string[], opts: { quick?: boolean; out?: string }) => {
      const args = [path.join(DIST_DIR, 'bench', 'run.js'), ...suites, ...(opts.quick ? ['--quick'] : []), ...(opts.out ? ['--out', opts.out] : [])];
      const child = spawn(process.execPath, args, { stdio: 'inherit' });
      const [code] = (await once(child, 'exit')) as [number | null];
      exitCode = code ?? 1;
    });

  await program.parseAsync(argv);
  return exitCode;
}

main(process.argv).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const message = err instanceof FunctionSpecError || err instanceof UsageError ? err.message : `error: ${(err as Error).message ?? String(err)}`;
    process.stderr.write(`sluice: ${message}\n`);
    process.exit(err instanceof FunctionSpecError || err instanceof UsageError ? 2 : 1);
  },
);
