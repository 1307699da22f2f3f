// TEST INFRASTRUCTURE (virtual kubelet). Runs a probe or lifecycle-hook action (httpGet, tcpSocket, exec, sleep) against a
// container that is a local process, the way kubelet's prober and hook runner do.
//
// httpGet: GET <scheme>://<host or pod IP>:<port><path> with kubelet's User-Agent; 200–399 is success (redirects
// are not followed: a 3xx is itself a success, as kubelet counts a redirect to another host). tcpSocket: a
// connection opens. exec: the command runs as a process with the container's environment and working
// directory (kubelet runs it inside the container); exit 0 is success; `$(VAR)` expands against the
// container's literal env values only (kubelet's ExpandContainerCommandOnlyStatic).
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { expand, mappingFor } from './expansion.js';
import type { ProbeResult } from './probe-state.js';
import type { Container, Handler } from './types.js';

export const PROBE_USER_AGENT = 'kube-probe/1.36';

export interface HandlerContext {
  podIP: string;
  container: Container;
  /** The container's resolved environment (exec runs with it). */
  env: ReadonlyMap<string, string>;
  cwd: string;
  timeoutMs: number;
  nodeBinary: string;
  signal?: AbortSignal;
}

export interface HandlerOutcome {
  result: ProbeResult;
  message: string;
}

/** A probe port: a number, or the name of one of the container's ports. Undefined when the name is unknown. */
export function resolvePort(port: number | string, container: Container): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** kubelet's ExpandContainerCommandOnlyStatic: references resolve to the env entries' literal `value` ("" for valueFrom ones). */
export function expandStatic(command: readonly string[], container: Container): string[] {
  const statics: Record<string, string> = {};
  for (const e of container.env ?? []) statics[e.name] = e.value ?? '';
  const mapping = mappingFor(statics);
  return command.map((c) => expand(c, mapping));
}

function httpGet(handler: NonNullable<Handler['httpGet']>, ctx: HandlerContext): Promise<HandlerOutcome> {
  const port = resolvePort(handler.port, ctx.container);
  if (port === undefined) return Promise.resolve({ result: 'unknown', message: `unknown port name "${handler.port}"` });
  const scheme = (handler.scheme ?? 'HTTP').toLowerCase();
  const host = handler.host || ctx.podIP;
  const headers: Record<string, string> = { 'user-agent': PROBE_USER_AGENT, accept: '*/*' };
  for (const h of handler.httpHeaders ?? []) headers[h.name.toLowerCase()] = h.value;
  let path = handler.path ?? '/';
  if (!path.startsWith('/')) path = `/${path}`;
  const transport = scheme === 'https' ? https : http;
  return new Promise((resolve) => {
    const req = transport.get(
      { host, port, path, headers, agent: false, timeout: ctx.timeoutMs, signal: ctx.signal, ...(scheme === 'https' ? { rejectUnauthorized: false } : {}) },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve(code >= 200 && code < 400 ? { result: 'success', message: '' } : { result: 'failure', message: `HTTP probe failed with statuscode: ${code}` });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`context deadline exceeded (timeout ${ctx.timeoutMs} ms)`)));
    req.on('error', (err) => resolve({ result: 'failure', message: `Get "${scheme}://${host}:${port}${path}": ${err.message}` }));
  });
}

function tcpSocket(handler: NonNullable<Handler['tcpSocket']>, ctx: HandlerContext): Promise<HandlerOutcome> {
  const port = resolvePort(handler.port, ctx.container);
  if (port === undefined) return Promise.resolve({ result: 'unknown', message: `unknown port name "${handler.port}"` });
  const host = handler.host || ctx.podIP;
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => socket.destroy(new Error(`dial tcp ${host}:${port}: i/o timeout`)), ctx.timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ result: 'success', message: '' });
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      resolve({ result: 'failure', message: `dial tcp ${host}:${port}: ${err.message}` });
    });
  });
}

function exec(handler: NonNullable<Handler['exec']>, ctx: HandlerContext): Promise<HandlerOutcome> {
  const argv = expandStatic(handler.command ?? [], ctx.container);
  if (argv.length === 0) return Promise.resolve({ result: 'unknown', message: 'exec action has no command' });
  return new Promise((resolve) => {
    const command = argv[0] === 'node' ? ctx.nodeBinary : argv[0];
    const child = spawn(command, argv.slice(1), { env: Object.fromEntries(ctx.env), cwd: ctx.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const collect = (chunk: Buffer): void => {
      if (output.length < 10_240) output += chunk.toString('utf8');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }, ctx.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ result: 'failure', message: `exec ${argv.join(' ')}: ${err.message}` });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (timedOut) resolve({ result: 'failure', message: `command timed out after ${ctx.timeoutMs} ms` });
      else if (code === 0) resolve({ result: 'success', message: output.trim() });
      else resolve({ result: 'failure', message: `command ${JSON.stringify(argv)} exited with ${code}: ${output.trim()}` });
    });
  });
}

/** Runs one action; never throws. */
export async function runHandler(handler: Handler, ctx: HandlerContext): Promise<HandlerOutcome> {
  if (handler.httpGet) return httpGet(handler.httpGet, ctx);
  if (handler.tcpSocket) return tcpSocket(handler.tcpSocket, ctx);
  if (handler.exec) return exec(handler.exec, ctx);
  if (handler.sleep) {
    try {
      await sleep(handler.sleep.seconds * 1000, undefined, { signal: ctx.signal });
    } catch {
      // cut short (the grace period ended)
    }
    return { result: 'success', message: '' };
  }
  return { result: 'unknown', message: 'the action has no httpGet, tcpSocket, exec or sleep' };
}
