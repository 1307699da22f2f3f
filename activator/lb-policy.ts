// Load-balancing policies (Knative's activator policies), registered by name; a pick is a value, never an exception.

/** What a policy needs to know about an instance. */
export interface LbTarget {
  /** Requests this activator has in flight to the instance. */
  readonly inFlight: number;
  /** Most requests the instance takes at once; Infinity when containerConcurrency is 0. */
  readonly capacity: number;
}

/** Either an instance to send to now, or "hold the request until capacity frees". */
export type Pick<T extends LbTarget> = { kind: 'pick'; endpoint: T } | { kind: 'queue' };

/** Returns a number in [0, 1), like Math.random; injected so tests are deterministic. */
export type RandomSource = () => number;

export interface LbPolicy {
  readonly name: string;
  /** Chooses among `targets` (a stable order, e.g. by instance name). Does not change them. */
  pick<T extends LbTarget>(targets: readonly T[]): Pick<T>;
}

export type LbPolicyFactory = (random: RandomSource) => LbPolicy;

const QUEUE = { kind: 'queue' } as const;

function hasCapacity(target: LbTarget): boolean {
  return target.inFlight < target.capacity;
}

/** Power of two choices on fewest in-flight requests (Knative's randomChoice2Policy). */
function randomChoice2(random: RandomSource): LbPolicy {
  return {
    name: RANDOM_CHOICE_2,
    pick<T extends LbTarget>(targets: readonly T[]): Pick<T> {
      const count = targets.length;
      if (count === 0) return QUEUE;
      if (count === 1) return hasCapacity(targets[0]) ? { kind: 'pick', endpoint: targets[0] } : QUEUE;
      let first = 0;
      let second = 1;
      if (count > 2) {
        first = Math.floor(random() * count);
        second = Math.floor(random() * (count - 1));
        if (second >= first) second++;
      }
      let chosen = targets[first];
      let other = targets[second];
      if (other.inFlight < chosen.inFlight) [chosen, other] = [other, chosen];
      if (hasCapacity(chosen)) return { kind: 'pick', endpoint: chosen };
      return hasCapacity(other) ? { kind: 'pick', endpoint: other } : QUEUE;
    },
  };
}

/** The first instance with a free slot, in stable order: packs small-concurrency instances (Knative's firstAvailableLBPolicy). */
function firstAvailable(): LbPolicy {
  return {
    name: FIRST_AVAILABLE,
    pick<T extends LbTarget>(targets: readonly T[]): Pick<T> {
      for (const target of targets) {
        if (hasCapacity(target)) return { kind: 'pick', endpoint: target };
      }
      return QUEUE;
    },
  };
}

/** Round robin over instances with a free slot, starting after the last pick (Knative's roundRobinPolicy). */
function roundRobin(): LbPolicy {
  let next = 0;
  return {
    name: ROUND_ROBIN,
    pick<T extends LbTarget>(targets: readonly T[]): Pick<T> {
      const count = targets.length;
      // The list may have shrunk since the last pick.
      if (next >= count) next = 0;
      for (let i = 0; i < count; i++) {
        const index = (next + i) % count;
        if (hasCapacity(targets[index])) {
          next = index + 1;
          return { kind: 'pick', endpoint: targets[index] };
        }
      }
      return QUEUE;
    },
  };
}

export const RANDOM_CHOICE_2 = 'random-choice-2';
export const FIRST_AVAILABLE = 'first-available';
export const ROUND_ROBIN = 'round-robin';

const registry = new Map<string, LbPolicyFactory>();

/** Adds a policy under `name`; throws when the name is taken. */
export function registerLbPolicy(name: string, factory: LbPolicyFactory): void {
  if (registry.has(name)) throw new Error(`load-balancing policy "${name}" is already registered`);
  registry.set(name, factory);
}

export function createLbPolicy(name: string, random: RandomSource = Math.random): LbPolicy {
  const factory = registry.get(name);
  if (!factory) throw new Error(`unknown load-balancing policy "${name}"; known: ${[...registry.keys()].join(', ')}`);
  return factory(random);
}

/**
 * Knative's choice by containerConcurrency:
 * | containerConcurrency | policy          | why                                            |
 * |----------------------|-----------------|------------------------------------------------|
 * | 0 (unlimited)        | random-choice-2 | no slots to count; spread by fewest in flight  |
 * | 1..3                 | first-available | few slots: fill instances in order             |
 * | > 3                  | round-robin     | many slots: spread, skipping full instances    |
 */
export function lbPolicyNameFor(containerConcurrency: number): string {
  if (containerConcurrency === 0) return RANDOM_CHOICE_2;
  if (containerConcurrency <= 3) return FIRST_AVAILABLE;
  return ROUND_ROBIN;
}

registerLbPolicy(RANDOM_CHOICE_2, randomChoice2);
registerLbPolicy(FIRST_AVAILABLE, firstAvailable);
registerLbPolicy(ROUND_ROBIN, roundRobin);
