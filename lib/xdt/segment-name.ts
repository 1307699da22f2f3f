// Names of the XDT same-node segment files (queue-proxy/xdt/shm.ts): the queue-proxies make and open them, node
// agents sweep the stale ones; anything else in the directory is not theirs to touch.

const SEGMENT_NAME = /^x-[0-9a-f]{32}$/;

/** A fresh segment name: 128 random bits, unguessable by another process. */
export function segmentName(random: Buffer): string {
  return `x-${random.toString('hex')}`;
}

export function isSegmentName(name: string): boolean {
  return SEGMENT_NAME.test(name);
}
