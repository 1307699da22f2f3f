// Per-function admission: ready instances with in-flight counts and capacity, plus a bounded FIFO of requests waiting for a slot.
import { SluiceError } from '../lib/errors.js';
import type { Endpoint } from '../lib/platform/types.js';
import { createLbPolicy, lbPolicyNameFor, type LbPolicy, type LbTarget, type RandomSource } from './lb-policy.js';
import { pickPreferringNode } from './locality.js';
import { WaiterQueue, type QueueNode } from './waiter-queue.js';

/** One instance as the throttler tracks it; the handle a caller holds while its request is in flight. */
export interface TrackedEndpoint extends LbTarget {
  readonly endpoint: Endpoint;
  /** The instance's node (endpoint.node), for locality-aware routing. */
  readonly node: string;
  /** `http://ip:port` of the instance's queue-proxy. */
  readonly origin: string;
  inFlight: number;
  capacity: number;
  /** False once removed (by the platform or dropped locally): no new requests, in-flight ones finish. */
  active: boolean;
}

export interface ThrottlerOptions {
  /** "namespace/name", for messages. */
  functionName: string;
  /** Per-instance slots; 0 = unlimited. */
  containerConcurrency: number;
  /** Most requests that may wait at once. */
  queueDepth: number;
  /** How long a request may wait for a slot before NO_CAPACITY. */
  queueTimeoutMs: number;
  retryAfterSeconds: number;
  /** How long a locally dropped endpoint is ignored even if the platform still lists it. */
  quarantineMs?: number;
  random?: RandomSource;
  /** Called with the origin of every endpoint that stops taking requests (to close its connections). */
  onEndpointRemoved?: (origin: string) => void;
}

export interface WaitOptions {
  /** Aborting removes the request from the queue (client disconnected). */
  signal?: AbortSignal;
  /** Queue at the head: a request being retried keeps its turn. */
  front?: boolean;
  /** Prefer an instance on this node when one has a free slot (locality-aware routing). */
  preferredNode?: string;
}

interface Waiter extends QueueNode {
  resolve: (endpoint: TrackedEndpoint) => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  preferredNode: string | undefined;
}

/** A dropped endpoint usually refused a connection because its instance stopped; the platform will say so soon. */
export const DEFAULT_QUARANTINE_MS = 5_000;

export function endpointOrigin(endpoint: Endpoint): string {
  const host = endpoint.ip.includes(':') ? `[${endpoint.ip}]` : endpoint.ip;
  return `http://${host}:${endpoint.trafficPort}`;
}

function endpointKey(endpoint: Endpoint): string {
  return `${endpoint.instanceName}@${endpoint.ip}:${endpoint.trafficPort}`;
}

function capacityFor(containerConcurrency: number): number {
  return containerConcurrency === 0 ? Infinity : containerConcurrency;
}

/**
 * Lifecycle of a request:
 * | state    | event                              | next                                |
 * |----------|------------------------------------|-------------------------------------|
 * | arriving | a slot is free and nobody waits    | in flight (tryAcquire)              |
 * | arriving | no slot, queue has room            | waiting (wait)                      |
 * | arriving | no slot, queue full                | rejected QUEUE_FULL                 |
 * | waiting  | a slot frees / an endpoint arrives | in flight, FIFO order               |
 * | waiting  | deadline passes                    | rejected NO_CAPACITY                |
 * | waiting  | client disconnects (abort)         | removed, rejected with abort reason |
 * | in flight| release()                          | done; the slot goes to the head     |
 */
export class Throttler {
  private tracked = new Map<string, TrackedEndpoint>();
  /** Active endpoints sorted by instance name: a stable order for first-available. */
  private active: TrackedEndpoint[] = [];
  private platformEndpoints: readonly Endpoint[] = [];
  private readonly quarantinedUntil = new Map<string, number>();
  private quarantineTimer: NodeJS.Timeout | undefined;
  private readonly queue: WaiterQueue<Waiter>;
  private policy: LbPolicy;
  private containerConcurrency: number;
  private queueTimeoutMs: number;
  private inFlightCount = 0;
  private closedWith: SluiceError | undefined;
  private readonly random: RandomSource;

  constructor(private readonly options: ThrottlerOptions) {
    this.random = options.random ?? Math.random;
    this.containerConcurrency = options.containerConcurrency;
    this.queueTimeoutMs = options.queueTimeoutMs;
    this.policy = createLbPolicy(lbPolicyNameFor(options.containerConcurrency), this.random);
    this.queue = new WaiterQueue<Waiter>(options.queueDepth);
  }

  get queued(): number {
    return this.queue.length;
  }

  get inFlight(): number {
    return this.inFlightCount;
  }

  /** Requests the activator holds for this function: waiting plus in flight. */
  get held(): number {
    return this.queue.length + this.inFlightCount;
  }

  get readyCount(): number {
    return this.active.length;
  }

  get policyName(): string {
    return this.policy.name;
  }

  /**
   * Takes a slot now if one is free and nobody waits (arrivals never overtake waiters), on `preferredNode`
   * when an instance there has one.
   */
  tryAcquire(preferredNode?: string): TrackedEndpoint | undefined {
    if (this.queue.length > 0 || this.closedWith) return undefined;
    return this.take(preferredNode);
  }

  /** Waits for a slot; rejects with QUEUE_FULL, NO_CAPACITY, the close error, or the signal's reason. */
  wait(options: WaitOptions = {}): Promise<TrackedEndpoint> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<TrackedEndpoint>((resolve, reject) => {
      const waiter: Waiter = {
        prev: undefined,
        next: undefined,
        queued: false,
        resolve,
        reject,
        timer: undefined,
        signal,
        onAbort: undefined,
        preferredNode: options.preferredNode,
      };
      const added = options.front ? this.queue.unshift(waiter) : this.queue.push(waiter);
      if (!added) {
        reject(
          new SluiceError('QUEUE_FULL', `function ${this.options.functionName}: ${this.queue.capacity} requests are already waiting for an instance`, {
            retryAfterSeconds: this.options.retryAfterSeconds,
          }),
        );
        return;
      }
      const timeoutMs = this.queueTimeoutMs;
      waiter.timer = setTimeout(() => {
        this.settle(waiter);
        reject(
          new SluiceError(
            'NO_CAPACITY',
            `function ${this.options.functionName}: no instance had capacity within ${timeoutMs} ms (${this.active.length} ready)`,
            { retryAfterSeconds: this.options.retryAfterSeconds },
          ),
        );
      }, timeoutMs);
      if (signal) {
        waiter.onAbort = () => {
          this.settle(waiter);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      // An endpoint may be free already when this is a retry at the head of the queue.
      this.dispatch();
    });
  }

  /** Gives back the slot taken by tryAcquire or wait. */
  release(endpoint: TrackedEndpoint): void {
    endpoint.inFlight--;
    this.inFlightCount--;
    this.dispatch();
  }

  /** Replaces the ready endpoints with the platform's full list. */
  setEndpoints(endpoints: readonly Endpoint[]): void {
    this.platformEndpoints = endpoints;
    this.rebuild(Date.now());
  }

  /**
   * Stops sending to an endpoint that refused a connection, until the platform drops it
   * or the quarantine passes (then it is tried again if still listed).
   */
  drop(endpoint: TrackedEndpoint): void {
    if (!endpoint.active) return;
    const now = Date.now();
    const quarantineMs = this.options.quarantineMs ?? DEFAULT_QUARANTINE_MS;
    this.quarantinedUntil.set(endpointKey(endpoint.endpoint), now + quarantineMs);
    this.rebuild(now);
    this.scheduleQuarantineEnd(now);
  }

  /** Applies a changed function definition: capacity and policy follow containerConcurrency. */
  configure(settings: { containerConcurrency: number; queueTimeoutMs: number }): void {
    this.queueTimeoutMs = settings.queueTimeoutMs;
    if (settings.containerConcurrency === this.containerConcurrency) return;
    this.containerConcurrency = settings.containerConcurrency;
    const name = lbPolicyNameFor(settings.containerConcurrency);
    if (name !== this.policy.name) this.policy = createLbPolicy(name, this.random);
    const capacity = capacityFor(settings.containerConcurrency);
    for (const endpoint of this.tracked.values()) endpoint.capacity = capacity;
    this.dispatch();
  }

  /** Rejects every waiter and all future waits with `err` (function deleted, activator closing). */
  close(err: SluiceError): void {
    this.closedWith = err;
    if (this.quarantineTimer) clearTimeout(this.quarantineTimer);
    this.quarantineTimer = undefined;
    for (let waiter = this.queue.shift(); waiter; waiter = this.queue.shift()) {
      this.clearWaiter(waiter);
      waiter.reject(err);
    }
  }

  /** Origins of all endpoints currently taking requests. */
  origins(): string[] {
    return this.active.map((endpoint) => endpoint.origin);
  }

  private take(preferredNode: string | undefined): TrackedEndpoint | undefined {
    const pick = pickPreferringNode(this.active, preferredNode, this.policy);
    if (pick.kind === 'queue') return undefined;
    pick.endpoint.inFlight++;
    this.inFlightCount++;
    return pick.endpoint;
  }

  private dispatch(): void {
    for (let head = this.queue.peek(); head; head = this.queue.peek()) {
      const endpoint = this.take(head.preferredNode);
      if (!endpoint) return;
      const waiter = this.queue.shift() as Waiter;
      this.clearWaiter(waiter);
      waiter.resolve(endpoint);
    }
  }

  private settle(waiter: Waiter): void {
    this.queue.remove(waiter);
    this.clearWaiter(waiter);
  }

  private clearWaiter(waiter: Waiter): void {
    if (waiter.timer) clearTimeout(waiter.timer);
    waiter.timer = undefined;
    if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
    waiter.onAbort = undefined;
  }

  private rebuild(now: number): void {
    const next = new Map<string, TrackedEndpoint>();
    const capacity = capacityFor(this.containerConcurrency);
    for (const endpoint of this.platformEndpoints) {
      const key = endpointKey(endpoint);
      const until = this.quarantinedUntil.get(key);
      if (until !== undefined) {
        if (until > now) continue;
        this.quarantinedUntil.delete(key);
      }
      const existing = this.tracked.get(key);
      next.set(key, existing ?? { endpoint, node: endpoint.node, origin: endpointOrigin(endpoint), inFlight: 0, capacity, active: true });
    }
    // Forget quarantines of endpoints the platform no longer lists, so the map stays bounded.
    for (const key of this.quarantinedUntil.keys()) {
      if (!this.platformEndpoints.some((endpoint) => endpointKey(endpoint) === key)) this.quarantinedUntil.delete(key);
    }
    for (const [key, endpoint] of this.tracked) {
      if (next.has(key)) continue;
      endpoint.active = false;
      this.options.onEndpointRemoved?.(endpoint.origin);
    }
    this.tracked = next;
    this.active = [...next.values()].sort((a, b) =>
      a.endpoint.instanceName < b.endpoint.instanceName ? -1 : a.endpoint.instanceName > b.endpoint.instanceName ? 1 : 0,
    );
    this.dispatch();
  }

  private scheduleQuarantineEnd(now: number): void {
    if (this.quarantineTimer || this.quarantinedUntil.size === 0 || this.closedWith) return;
    const earliest = Math.min(...this.quarantinedUntil.values());
    this.quarantineTimer = setTimeout(() => {
      this.quarantineTimer = undefined;
      const at = Date.now();
      this.rebuild(at);
      this.scheduleQuarantineEnd(at);
    }, Math.max(0, earliest - now));
    this.quarantineTimer.unref();
  }
}
