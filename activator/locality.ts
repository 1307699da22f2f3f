// Locality-aware routing: an invocation carrying an XDT reference prefers an instance on the producer's node, when one can take it now.
import type { ReferenceCodec } from '../lib/xdt/reference.js';
import type { LbPolicy, LbTarget, Pick as Choice } from './lb-policy.js';
import { XDT_REF_HEADER } from '../lib/xdt/reference.js';
export { XDT_REF_HEADER };


/**
 * How a request carrying an XDT reference was routed (the `outcome` label of
 * sluice_activator_locality_decisions_total):
 * | outcome       | when                                                                                     |
 * |---------------|------------------------------------------------------------------------------------------|
 * | local         | sent to an instance on the producer's node                                               |
 * | remote        | the reference named a node, but no ready instance there could take the request now       |
 * | no-preference | no node to prefer: locality routing off, or the reference unreadable (the consumer's queue-proxy refuses it) |
 */
export type LocalityOutcome = 'local' | 'remote' | 'no-preference';
export const LOCALITY_OUTCOMES: readonly LocalityOutcome[] = ['local', 'remote', 'no-preference'];

/** What the decision needs to know about an instance: its node, and its slots as the load-balancing policies see them. */
export interface LocalityTarget extends LbTarget {
  readonly node: string;
}

/**
 * The load-balancing pick with a preferred node: the function's own policy, first over the ready instances on
 * `preferredNode` (those with a free slot under containerConcurrency), and, when none of them can take the
 * request now, over all instances — so a preference never makes a request wait or overtake a breaker.
 * `preferredNode` undefined or "" = the plain policy. `targets` keep the throttler's stable order (by instance name).
 */
export function pickPreferringNode<T extends LocalityTarget>(
  targets: readonly T[],
  preferredNode: string | undefined,
  policy: LbPolicy,
): Choice<T> {
  if (preferredNode) {
    const local = targets.filter((target) => target.node === preferredNode && target.inFlight < target.capacity);
    if (local.length > 0) {
      const chosen = policy.pick(local);
      if (chosen.kind === 'pick') return chosen;
    }
  }
  return policy.pick(targets);
}

/** The outcome of a decision, from the node the request was preferred to and the node of the instance it went to. */
export function localityOutcome(preferredNode: string | undefined, chosenNode: string): LocalityOutcome {
  if (!preferredNode) return 'no-preference';
  return chosenNode === preferredNode ? 'local' : 'remote';
}

/**
 * The producer's node from a reference token, opened as the consumer's queue-proxy will open it (bound to the target
 * function's namespace, not expired). Anything wrong gives undefined: the request is routed normally and the
 * consumer's queue-proxy answers with the proper XDT error. The activator never refuses a reference itself.
 */
export function producerNode(codec: ReferenceCodec, token: string, namespace: string, nowMs: number): string | undefined {
  try {
    return codec.open(token, namespace, nowMs).node || undefined;
  } catch {
    return undefined;
  }
}
