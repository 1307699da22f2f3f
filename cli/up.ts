// `sluice up`: validates the Functions file, starts the local cluster, prints one ready line, cleans up on Ctrl-C.
import path from 'node:path';
import { pino } from 'pino';
import { mkdirSync } from 'node:fs';
import { loadFunctionsFile } from '../lib/function-spec.js';
import { checkLocalPlatformFunctions, defaultLogDir, startLocalCluster } from './local-cluster.js';
import { removeState, writeState } from './state-file.js';

export interface UpOptions {
  file: string;
  nodes: number;
  port: number;
  subnetBase: number;
  domain: string;
  logDir?: string;
}

/** Runs until SIGINT/SIGTERM or a component failure; returns the process exit code. */
export async function up(options: UpOptions): Promise<number> {
  // Invalid definitions are rejected before anything starts.
  const functions = loadFunctionsFile(options.file);
  checkLocalPlatformFunctions(functions, options.file);
  const logDir = options.logDir ?? defaultLogDir();
  mkdirSync(logDir, { recursive: true });
  // The terminal gets the ready line and warnings; the platform's full log goes next to the components' logs.
  const logger = pino(
    { level: process.env.SLUICE_LOG_LEVEL ?? 'info', base: { component: 'platform', pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: path.join(logDir, 'platform.log'), sync: false }),
  );
  // A signal while the cluster starts is remembered and honoured once start-up returns, so
  // nothing half-started is left behind.
  let interruptedBy: NodeJS.Signals | undefined;
  const onEarlySignal = (signal: NodeJS.Signals): void => {
    interruptedBy = signal;
    process.stdout.write('sluice: stopping as soon as start-up completes\n');
  };
  process.on('SIGINT', onEarlySignal);
  process.on('SIGTERM', onEarlySignal);
  const cluster = await startLocalCluster({
    functions,
    workDir: path.dirname(path.resolve(options.file)),
    nodes: options.nodes,
    port: options.port,
    subnetBase: options.subnetBase,
    domain: options.domain,
    logDir,
    logger,
  });
  process.off('SIGINT', onEarlySignal);
  process.off('SIGTERM', onEarlySignal);
  if (interruptedBy) {
    await cluster.stop();
    process.stdout.write('sluice: stopped\n');
    return 0;
  }
  writeState({
    pid: process.pid,
    ingressUrl: cluster.ingressUrl,
    platformAddress: cluster.platformAddress,
    domain: cluster.domain,
    logDir: cluster.logDir,
    startedAt: new Date().toISOString(),
  });
  const names = functions.map((f) => f.metadata.name).join(', ');
  process.stdout.write(
    `Sluice ready: ${cluster.ingressUrl} (${options.nodes} nodes; functions ${names}; logs in ${cluster.logDir})\n` +
      `  try: curl ${cluster.ingressUrl}/fn/default/${functions[0].metadata.name}/  or  curl -H 'Host: ${functions[0].metadata.name}.default.${cluster.domain}' ${cluster.ingressUrl}/\n` +
      `  Ctrl-C stops everything.\n`,
  );

  return new Promise<number>((resolve) => {
    let shuttingDown = false;
    const shutdown = (code: number, why: string): void => {
      if (shuttingDown) {
        process.stderr.write('sluice: forced exit\n');
        process.exit(1);
      }
      shuttingDown = true;
      process.stdout.write(`sluice: ${why}; stopping (Ctrl-C again to force)\n`);
      void cluster
        .stop()
        .catch((err: unknown) => {
          process.stderr.write(`sluice: stopping failed: ${(err as Error).message ?? String(err)}\n`);
          code = 1;
        })
        .finally(() => {
          removeState(process.pid);
          process.stdout.write('sluice: stopped\n');
          resolve(code);
        });
    };
    process.on('SIGINT', () => shutdown(0, 'interrupted'));
    process.on('SIGTERM', () => shutdown(0, 'terminated'));
    void cluster.componentExit.then((why) => {
      process.stderr.write(`sluice: ${why}\n`);
      shutdown(1, 'a component failed');
    });
  });
}
