// When the activator pokes the autoscaler for a function at zero (pure; time is an argument).

/** Scale-from-zero pokes: at most one per `minIntervalMs` per function while it has no ready instance. */
export const POKE_MIN_INTERVAL_MS = 500;

export function shouldPoke(readyInstances: number, lastPokeMs: number | undefined, nowMs: number, minIntervalMs = POKE_MIN_INTERVAL_MS): boolean {
  if (readyInstances > 0) return false;
  return lastPokeMs === undefined || nowMs - lastPokeMs >= minIntervalMs;
}
