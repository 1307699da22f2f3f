// Hands out the instance addresses of a node's range (127.0.<index>.2…254 by default), least recently released first.
import { SluiceError } from '../lib/errors.js';

export const FIRST_HOST = 2;
export const LAST_HOST = 254;

/**
 * Free addresses wait in a FIFO queue: never-used ones first, then released
 * ones in release order. Reusing the address released longest ago means a
 * client still holding a connection to a stopped instance does not reach a
 * fresh instance on the same address right away.
 */
export class IpAllocator {
  private readonly free: string[] = [];
  private readonly inUse = new Set<string>();

  private readonly subnet: string;

  /** `node`: a node index (range 127.0.<index>.0/24) or the first three octets of the range. */
  constructor(node: number | string) {
    if (typeof node === 'number' && (!Number.isInteger(node) || node < 1 || node > 254)) throw new RangeError(`node index ${node} must be an integer in [1; 254]`);
    this.subnet = typeof node === 'number' ? `127.0.${node}` : node;
    for (let host = FIRST_HOST; host <= LAST_HOST; host++) this.free.push(`${this.subnet}.${host}`);
  }

  /** Throws SluiceError NO_CAPACITY when every address is in use. */
  allocate(): string {
    const ip = this.free.shift();
    if (ip === undefined) {
      throw new SluiceError('NO_CAPACITY', `no free instance address in ${this.subnet}.0/24 (${this.inUse.size} in use)`);
    }
    this.inUse.add(ip);
    return ip;
  }

  /** Returns an address to the pool; releasing an address that is not in use does nothing. */
  release(ip: string): void {
    if (!this.inUse.delete(ip)) return;
    this.free.push(ip);
  }

  get used(): number {
    return this.inUse.size;
  }

  get available(): number {
    return this.free.length;
  }
}
