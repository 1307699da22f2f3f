// XDT object references: opaque, URL-safe tokens sealed with AES-256-GCM under the cluster key, minted and opened only by trusted components.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SluiceError } from '../errors.js';

/** The header an invocation's XDT reference travels in (SDK → activator → consumer's queue-proxy). */
export const XDT_REF_HEADER = 'x-sluice-xdt-ref';

/** What a reference says about an object; user code never sees it, only the sealed token. */
export interface ObjectReference {
  /** host:port of the producer queue-proxy's XDT data plane. */
  producer: string;
  /** Node of the producer instance (the activator reads it for locality-aware routing). */
  node: string;
  /** The producer's function (the consumer's queue-proxy reports the flow producer → consumer). */
  function: string;
  /** The object's key in the producer's buffer. */
  key: string;
  /** Namespace the reference is bound to: only functions of this namespace may use it. */
  namespace: string;
  /** Retrievals the object was put for (the producer counts them; the reference only carries the number). */
  retrievals: number;
  /** Unix ms after which the reference is refused. */
  expiresAtMs: number;
}

/** Token layout: version (1 byte) ‖ IV (12) ‖ ciphertext ‖ GCM tag (16), base64url. The version byte is authenticated too. */
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const CLUSTER_KEY_BYTES = 32;

/** A new random cluster key (`sluice up` makes one per cluster; Kubernetes keeps it in a Secret). */
export function generateClusterKey(): Buffer {
  return randomBytes(CLUSTER_KEY_BYTES);
}

/** Parses a base64 / base64url cluster key, naming what is wrong. */
export function parseClusterKey(text: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64url');
  if (key.length !== CLUSTER_KEY_BYTES) {
    throw new Error(`the XDT cluster key must be ${CLUSTER_KEY_BYTES} bytes in base64, got ${key.length} bytes`);
  }
  return key;
}

function invalid(why: string): SluiceError {
  return new SluiceError('XDT_REF_INVALID', `invalid XDT reference: ${why}`);
}

function isReference(value: unknown): value is ObjectReference {
  const r = value as ObjectReference;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.producer === 'string' &&
    typeof r.node === 'string' &&
    typeof r.function === 'string' &&
    typeof r.key === 'string' &&
    typeof r.namespace === 'string' &&
    Number.isInteger(r.retrievals) &&
    r.retrievals >= 1 &&
    Number.isFinite(r.expiresAtMs)
  );
}

/** Seals and opens references with one cluster key. */
export class ReferenceCodec {
  private readonly aad = Buffer.from([VERSION]);

  constructor(private readonly key: Buffer) {
    if (key.length !== CLUSTER_KEY_BYTES) throw new Error(`the XDT cluster key must be ${CLUSTER_KEY_BYTES} bytes`);
  }

  mint(reference: ObjectReference): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(this.aad);
    const sealed = Buffer.concat([cipher.update(JSON.stringify(reference), 'utf8'), cipher.final()]);
    return Buffer.concat([this.aad, iv, sealed, cipher.getAuthTag()]).toString('base64url');
  }

  /**
   * Opens a token for use from `namespace` at `nowMs`. Throws SluiceError XDT_REF_INVALID (malformed,
   * tampered, another cluster's key), XDT_REF_FORBIDDEN (bound to another namespace) or XDT_REF_EXPIRED.
   */
  open(token: string, namespace: string, nowMs: number): ObjectReference {
    if (!/^[A-Za-z0-9_-]+$/.test(token)) throw invalid('not a reference token');
    const bytes = Buffer.from(token, 'base64url');
    if (bytes.length < 1 + IV_BYTES + TAG_BYTES + 2) throw invalid('too short');
    if (bytes[0] !== VERSION) throw invalid(`unknown version ${bytes[0]}`);
    const iv = bytes.subarray(1, 1 + IV_BYTES);
    const tag = bytes.subarray(bytes.length - TAG_BYTES);
    const sealed = bytes.subarray(1 + IV_BYTES, bytes.length - TAG_BYTES);
    let plain: string;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
      decipher.setAAD(bytes.subarray(0, 1));
      decipher.setAuthTag(tag);
      plain = Buffer.concat([decipher.update(sealed), decipher.final()]).toString('utf8');
    } catch {
      throw invalid('authentication failed (tampered, or minted by another cluster)');
    }
    let reference: unknown;
    try {
      reference = JSON.parse(plain);
    } catch {
      throw invalid('unreadable contents');
    }
    if (!isReference(reference)) throw invalid('unreadable contents');
    if (reference.namespace !== namespace) {
      throw new SluiceError('XDT_REF_FORBIDDEN', `XDT reference belongs to namespace "${reference.namespace}", not "${namespace}"`);
    }
    if (nowMs > reference.expiresAtMs) {
      throw new SluiceError('XDT_REF_EXPIRED', `XDT reference expired ${Math.round(nowMs - reference.expiresAtMs)} ms ago`);
    }
    return reference;
  }
}
