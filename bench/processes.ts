// Starts the servers a benchmark measures as separate processes (a function server, a queue-proxy) and waits until they serve.
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { DIST_DIR } from '../cli/components.js';
import { spawnOwned, tailFile, terminate } from '../lib/process.js';
import { waitForHttpOk } from '../lib/net.js';

export interface BenchProcess {
  name: string;
  pid: number;
  logFile: string;
  /** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone. */
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 5_000;


/** The parent's environment without SLUICE_* settings (so a developer's shell cannot change what is measured). */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && (!key.startsWith('SLUICE_') || key === 'SLUICE_LOG_LEVEL')) env[key] = value;
  }
  return env;
}

/** Polls `url` until it answers 2xx; fails early with the log's tail when the process exits. */
async function waitUntilServing(child: ChildProcess, name: string, url: string, logFile: string, timeoutMs: number): Promise<void> {
  const exited = (): string | undefined =>
    child.exitCode !== null || child.signalCode !== null
      ? `${name} exited (${child.signalCode ?? `code ${child.exitCode}`}) before serving; ${logFile} ends with:\n${tailFile(logFile, 10)}`
      : undefined;
  try {
    await waitForHttpOk(url, { timeoutMs, intervalMs: 20, giveUp: exited });
  } catch (err) {
    throw new Error(exited() ?? `${name} did not serve ${url} within ${timeoutMs} ms; ${logFile} ends with:\n${tailFile(logFile, 10)}`, { cause: err });
  }
}

async function startProcess(name: string, script: string, env: Record<string, string>, readyUrl: string, logDir: string): Promise<BenchProcess> {
  const logFile = path.join(logDir, `${name}.log`);
  const child = spawnOwned(process.execPath, [script], { env, logFile });
  const stop = (): Promise<void> => terminate(child, STOP_GRACE_MS);
  try {
    await waitUntilServing(child, name, readyUrl, logFile, 15_000);
  } catch (err) {
    await stop();
    throw err;
  }
  // spawnOwned execs through setpriv, which replaces itself with node: the pid is node's.
  return { name, pid: child.pid!, logFile, stop };
}

export interface FunctionProcessOptions {
  /** Example folder name under dist/examples (e.g. "hello"). */
  example: string;
  host: string;
  port: number;
  logDir: string;
}

/** An example function server on host:port, serving once GET /healthz answers. */
export function startFunctionProcess(options: FunctionProcessOptions): Promise<BenchProcess> {
  const name = `function-${options.example}`;
  return startProcess(
    name,
    path.join(DIST_DIR, 'examples', options.example, 'main.js'),
    { ...baseEnv(), HOST: options.host, PORT: String(options.port), SLUICE_FUNCTION: options.example, SLUICE_INSTANCE: `bench-${options.example}` },
    `http://${options.host}:${options.port}/healthz`,
    options.logDir,
  );
}

export interface QueueProxyProcessOptions {
  function: string;
  host: string;
  trafficPort: number;
  adminPort: number;
  metricsPort: number;
  userPort: number;
  logDir: string;
}

/** A queue-proxy process (dist/queue-proxy/main.js) in front of host:userPort, serving once its admin /ready answers 200. */
export function startQueueProxyProcess(options: QueueProxyProcessOptions): Promise<BenchProcess> {
  return startProcess(
    'queue-proxy',
    path.join(DIST_DIR, 'queue-proxy', 'main.js'),
    {
      ...baseEnv(),
      SLUICE_QUEUE_PROXY_FUNCTION: options.function,
      SLUICE_QUEUE_PROXY_INSTANCE: `bench-${options.function}`,
      SLUICE_QUEUE_PROXY_BIND_ADDRESS: options.host,
      SLUICE_QUEUE_PROXY_TRAFFIC_PORT: String(options.trafficPort),
      SLUICE_QUEUE_PROXY_ADMIN_PORT: String(options.adminPort),
      SLUICE_QUEUE_PROXY_METRICS_PORT: String(options.metricsPort),
      SLUICE_QUEUE_PROXY_USER_HOST: options.host,
      SLUICE_QUEUE_PROXY_USER_PORT: String(options.userPort),
      SLUICE_QUEUE_PROXY_READINESS_PATH: '/healthz',
      SLUICE_QUEUE_PROXY_DRAIN_TIMEOUT: '2s',
    },
    `http://${options.host}:${options.adminPort}/ready`,
    options.logDir,
  );
}
