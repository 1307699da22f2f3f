// A throwaway MinIO (S3) server for the XDT benchmark's S3 baseline: one drive on tmpfs, owned by this process.
//
// Usage:
//   const minio = await startMinio({ host: '127.0.0.1', log: ctx.log });
//   ctx.cleanup.defer('minio', minio.stop);
//   const client = s3Client(minio);                    // store-clients.ts: endpoint, keys and bucket
//
// MinIO ships no Debian package, so it is built from its Go module with `go install` into ~/.cache/sluice-bench/bin
// (override with SLUICE_BENCH_CACHE). The first build takes a few minutes (about 2 on 2 cores, downloads included);
// later runs find the binary and skip it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForHttpOk } from '../../lib/net.js';
import { commandLine, spawnOwned, tailFile, terminate, type CommandWrapper } from '../../lib/process.js';
import { urlHost } from './redis-server.js';
import { findExecutable, lastLines } from './system-tools.js';

/**
 * MinIO publishes no semver tags (its releases are RELEASE.<date> tags, which the Go module proxy does not serve), so
 * the pin is a pseudo-version: the module's last commit (2026-02-12), go 1.24 in its go.mod, builds with Go 1.26.
 */
export const MINIO_MODULE = 'github.com/minio/minio';
export const MINIO_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c';

export interface MinioOptions {
  host: string;
  log: (message: string) => void;
  /** Where the drive lives; a fresh folder under /dev/shm (memory speed, like Redis) when absent, removed on stop(). */
  dataDir?: string;
  /** A free port on `host` when absent (give one when `host` is not an address of this namespace). */
  port?: number;
  /** Rewrites the command line, e.g. to run inside a network namespace (netns.ts exec). */
  wrap?: CommandWrapper;
  /** Milliseconds to wait for the server to be ready (a first start formats the drive). */
  startTimeoutMs?: number;
}

export interface MinioServer {
  /** http://host:port of the S3 API. */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  /** Created before startMinio() resolves. */
  bucket: string;
  /** SIGTERM, then SIGKILL after a grace period; resolves when the server is gone (and its default data folder removed). */
  stop(): Promise<void>;
}

const ACCESS_KEY = 'sluicebench';
const SECRET_KEY = 'sluicebench-secret';
const BUCKET = 'xdt-bench';
const STOP_GRACE_MS = 5_000;

/** ~/.cache/sluice-bench, where built tools are kept between runs. */
export function benchCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SLUICE_BENCH_CACHE || path.join(os.homedir(), '.cache', 'sluice-bench');
}

/** The stamp beside the binary names the version it was built from, so changing the pin rebuilds. */
function stampFile(binDir: string): string {
  return path.join(binDir, 'minio.version');
}

/** True when `binDir` holds a minio binary built from `version`. */
export function isCached(binDir: string, version: string): boolean {
  try {
    return existsSync(path.join(binDir, 'minio')) && readFileSync(stampFile(binDir), 'utf8').trim() === version;
  } catch {
    return false;
  }
}

/** Runs `command args`, resolving with its combined output; rejects with the command and the output's last lines. */
function runLogged(command: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const child: ChildProcess = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (data: Buffer): void => {
      output += data.toString();
      // Keep the tail only: a module download prints thousands of lines.
      if (output.length > 1_000_000) output = output.slice(-200_000);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const shown = `${Object.entries(env)
      .filter(([k]) => k === 'GOBIN' || k === 'CGO_ENABLED')
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')} ${command} ${args.join(' ')}`;
    child.once('error', (err) => reject(new Error(`\`${shown}\` could not start: ${err.message}`)));
    child.once('close', (code, signal) => {
      writeFileSync(logFile, output);
      if (code === 0) resolve();
      else reject(new Error(`\`${shown}\` failed (${signal ?? `exit code ${code}`}); full output in ${logFile}, last lines:\n${lastLines(output, 20)}`));
    });
  });
}

/**
 * The path of a minio binary built from MINIO_VERSION, building it first when the cache lacks it. The build goes to a
 * fresh folder and is renamed into place, so an interrupted build never leaves a half-written binary in the cache.
 */
export async function ensureMinioBinary(log: (message: string) => void, cacheDir = benchCacheDir()): Promise<string> {
  const binDir = path.join(cacheDir, 'bin');
  const binary = path.join(binDir, 'minio');
  if (isCached(binDir, MINIO_VERSION)) return binary;
  const go = findExecutable('go', [...(process.env.PATH ?? '').split(path.delimiter), '/usr/local/go/bin', '/usr/lib/go/bin']);
  if (!go) throw new Error(`cannot build MinIO: no \`go\` on PATH or in /usr/local/go/bin (MinIO is built with \`go install ${MINIO_MODULE}@${MINIO_VERSION}\`)`);
  mkdirSync(binDir, { recursive: true });
  const buildDir = mkdtempSync(path.join(binDir, '.build-'));
  log(`building MinIO ${MINIO_VERSION} with ${go} install (first run only: this takes a few minutes)`);
  const started = Date.now();
  try {
    // CGO off: MinIO's releases are static builds too, and no C compiler is needed.
    await runLogged(go, ['install', `${MINIO_MODULE}@${MINIO_VERSION}`], { ...process.env, GOBIN: buildDir, CGO_ENABLED: '0' }, path.join(binDir, 'minio-build.log'));
    renameSync(path.join(buildDir, 'minio'), binary);
    writeFileSync(stampFile(binDir), `${MINIO_VERSION}\n`);
  } finally {
    rmSync(buildDir, { recursive: true, force: true });
  }
  log(`built MinIO in ${((Date.now() - started) / 1000).toFixed(0)} s: ${binary}`);
  return binary;
}

/** tmpfs when the machine has one (storage at memory speed, like Redis), the temp folder otherwise. */
function defaultDataParent(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
}

/** The server's environment: fixed credentials, and nothing that calls out (update checks) or serves a console. */
export function minioEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // A developer's MINIO_* settings must not change what is measured.
  for (const [key, value] of Object.entries(base)) if (!key.startsWith('MINIO_')) env[key] = value;
  return {
    ...env,
    MINIO_ROOT_USER: ACCESS_KEY,
    MINIO_ROOT_PASSWORD: SECRET_KEY,
    MINIO_BROWSER: 'off',
    MINIO_UPDATE: 'off',
  };
}

/** Builds MinIO if needed, starts it on host (a free port) with one drive, and creates the bucket. */
export async function startMinio(options: MinioOptions): Promise<MinioServer> {
  const binary = await ensureMinioBinary(options.log);
  const host = options.host;
  const port = options.port ?? (await freePort(host));
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'sluice-minio-'));
  const ownData = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(path.join(defaultDataParent(), 'sluice-minio-data-'));
  const logFile = path.join(runDir, 'minio.log');
  const endpoint = `http://${urlHost(host)}:${port}`;
  // --certs-dir: its own, or MinIO creates ~/.minio; no TLS, so the folder stays empty.
  const args = ['server', '--quiet', '--address', `${urlHost(host)}:${port}`, '--certs-dir', path.join(runDir, 'certs'), dataDir];
  const line = commandLine(binary, args, options.wrap);
  const child = spawnOwned(line.command, line.args, { env: minioEnv(process.env), logFile });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await terminate(child, STOP_GRACE_MS);
      if (ownData) rmSync(dataDir, { recursive: true, force: true });
      rmSync(runDir, { recursive: true, force: true });
    })());

  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const exited = (): string | undefined =>
    child.exitCode !== null || child.signalCode !== null
      ? `minio exited (${child.signalCode ?? `code ${child.exitCode}`}) before serving; its log ends with:\n${tailFile(logFile, 15)}`
      : undefined;
  try {
    await waitForHttpOk(`${endpoint}/minio/health/ready`, { timeoutMs, intervalMs: 50, giveUp: exited });
    await createBucket(endpoint);
  } catch (err) {
    const reason = exited() ?? `minio at ${endpoint} did not get ready: ${(err as Error).message}; its log ends with:\n${tailFile(logFile, 15)}`;
    await stop();
    throw new Error(reason, { cause: err });
  }
  options.log(`minio listening on ${endpoint} (pid ${child.pid}, data in ${dataDir})`);
  return { endpoint, accessKey: ACCESS_KEY, secretKey: SECRET_KEY, bucket: BUCKET, stop };
}

async function createBucket(endpoint: string): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'; // see store-clients.ts
  const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
  const s3 = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
  });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  } finally {
    s3.destroy();
  }
}
