// Small networking helpers: free ports and waiting for a port to accept connections.
import net from 'node:net';

/** Asks the kernel for a free TCP port on `host` (the port may be taken again before use; callers bind soon after). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** One TCP connect attempt: true when something accepts on host:port. */
export function canConnect(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export interface WaitForHttpOptions {
  timeoutMs: number;
  /** Pause between attempts. */
  intervalMs: number;
  /** Limit of one attempt. */
  requestTimeoutMs?: number;
  /** Called before each attempt: a returned reason (e.g. "the process exited") fails the wait at once. */
  giveUp?: () => string | undefined;
  /** Stops waiting (and fails) when aborted. */
  signal?: AbortSignal;
}

/** Polls `url` until it answers 2xx; throws naming the URL and the last outcome when it does not in time. */
export async function waitForHttpOk(url: string, options: WaitForHttpOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let last = 'no attempt';
  while (Date.now() < deadline && !options.signal?.aborted) {
    const reason = options.giveUp?.();
    if (reason) throw new Error(reason);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(options.requestTimeoutMs ?? 1_000) });
      await res.body?.cancel();
      if (res.ok) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
  throw new Error(`${url} did not answer 2xx within ${options.timeoutMs} ms (last: ${last})`);
}
