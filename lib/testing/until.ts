// Polling for tests that wait on other processes (a cluster, a controller): a value or a clear timeout.
import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `probe` every 250 ms until it returns a value; fails with the last error or "not yet" after `timeoutMs`. */
export async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no attempt';
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
      last = 'not yet';
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(250);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms (last: ${last})`);
}
