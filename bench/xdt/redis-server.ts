// A throwaway Redis server for the XDT benchmark's Redis baseline: memory only, owned by this process.
//
// Usage:
//   const redis = await startRedis({ host: '127.0.0.1', log: ctx.log });
//   ctx.cleanup.defer('redis', redis.stop);
//   const client = redisClient(redis.url);            // store-clients.ts
//
// Uses Debian's `redis-server`, installing the package when it is missing (the bench runs as root).
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../lib/net.js';
import { commandLine, spawnOwned, tailFile, terminate, type CommandWrapper } from '../../lib/process.js';
import { ensureDebianBinary } from './system-tools.js';

export interface RedisOptions {
  host: string;
  /** A free port on `host` when absent. */
  port?: number;
  log: (message: string) => void;
  /** Rewrites the command line, e.g. to run inside a network namespace (netns.ts exec). */
  wrap?: CommandWrapper;
  /** Milliseconds to wait for the first PONG. */
  startTimeoutMs?: number;
}

export interface RedisServer {
  /** redis://host:port, for redisClient(). */
  url: string;
  host: string;
  port: number;
  /** SIGTERM, then SIGKILL after a grace period; resolves when the server is gone and its folder removed. */
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 5_000;

/**
 * The server's command line. No persistence, so the baseline is a pure in-memory store (and no background save forks
 * during a measurement); protected mode off so clients in other network namespaces may connect without a password.
 */
export function redisArgs(host: string, port: number, dir: string): string[] {
  return [
    '--bind', host,
    '--port', String(port),
    '--save', '',
    '--appendonly', 'no',
    '--protected-mode', 'no',
    '--daemonize', 'no',
    // Working folder of its own, so even a stray SAVE cannot drop dump.rdb into the caller's folder.
    '--dir', dir,
    '--logfile', '',
  ];
}

/** An IPv6 literal goes in brackets inside a URL. */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** One PING over a fresh connection: true on +PONG. */
function ping(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      reply += data.toString('latin1');
      // -LOADING or -ERR means up but not ready yet.
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

function exitReason(child: ChildProcess): string | undefined {
  if (child.exitCode === null && child.signalCode === null) return undefined;
  return child.signalCode ?? `code ${child.exitCode}`;
}

/** Starts redis-server on host (and port, or a free one) and resolves once it answers PING. */
export async function startRedis(options: RedisOptions): Promise<RedisServer> {
  const binary = await ensureDebianBinary('redis-server', 'redis-server', options.log);
  const host = options.host;
  const port = options.port ?? (await freePort(host));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-redis-'));
  const logFile = path.join(dir, 'redis.log');
  const line = commandLine(binary, redisArgs(host, port, dir), options.wrap);
  const child = spawnOwned(line.command, line.args, { env: process.env, logFile });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await terminate(child, STOP_GRACE_MS);
      rmSync(dir, { recursive: true, force: true });
    })());

  const deadline = Date.now() + (options.startTimeoutMs ?? 15_000);
  while (!(await ping(host, port))) {
    const exited = exitReason(child);
    if (exited || Date.now() > deadline) {
      const log = tailFile(logFile, 10);
      await stop();
      throw new Error(
        exited
          ? `redis-server (${binary}) exited (${exited}) before answering PING on ${host}:${port}; its log ends with:\n${log}`
          : `redis-server (${binary}) did not answer PING on ${host}:${port} within ${options.startTimeoutMs ?? 15_000} ms; its log ends with:\n${log}`,
      );
    }
    await sleep(20);
  }
  options.log(`redis-server listening on ${host}:${port} (pid ${child.pid})`);
  return { url: `redis://${urlHost(host)}:${port}`, host, port, stop };
}
