// TEST INFRASTRUCTURE (virtual kubelet). kubelet's crash-loop back-off (client-go flowcontrol.Backoff, as kuberuntime uses it).
//
// The first exit restarts at once; each later exit waits the current delay, which starts at `initialMs`
// (kubelet: 10 s) and doubles up to `maxMs` (5 min). A container that has not needed a restart for
// 2 × maxMs (kubelet: 10 min) starts again from the beginning. No jitter (kubelet's is 0 too). Tests configure shorter values.

export interface BackoffConfig {
  initialMs: number;
  maxMs: number;
}

export const KUBELET_BACKOFF: BackoffConfig = { initialMs: 10_000, maxMs: 300_000 };

/** One container's back-off entry; undefined before its first restart (or once expired). */
export interface BackoffEntry {
  delayMs: number;
  /** When the entry was last advanced (a restart was let through). */
  lastUpdateMs: number;
}

export interface RestartDecision {
  /** How long to wait, from `nowMs`, before starting the container again. */
  waitMs: number;
  /** The back-off period in force (kubelet's "back-off 20s restarting failed container" message); 0 when none. */
  delayMs: number;
  /** The entry once that restart happens. */
  next: BackoffEntry;
}

/**
 * The container exited at `finishedAtMs` and we look at it at `nowMs`: when may it restart?
 * kubelet: IsInBackOffSince(finishedAt) → wait until finishedAt + delay; then Next() (double, or start over).
 */
export function restartDecision(entry: BackoffEntry | undefined, finishedAtMs: number, nowMs: number, config: BackoffConfig): RestartDecision {
  // Expired (client-go hasExpired): the container ran for more than 2 × max since its last restart.
  const live = entry !== undefined && finishedAtMs - entry.lastUpdateMs <= 2 * config.maxMs ? entry : undefined;
  if (live === undefined) return { waitMs: 0, delayMs: 0, next: { delayMs: config.initialMs, lastUpdateMs: nowMs } };
  const waitMs = Math.max(0, finishedAtMs + live.delayMs - nowMs);
  return { waitMs, delayMs: live.delayMs, next: { delayMs: Math.min(live.delayMs * 2, config.maxMs), lastUpdateMs: nowMs + waitMs } };
}

/** kubelet's restart rule: Always restarts every exit, OnFailure non-zero exits, Never none. */
export function shouldRestart(restartPolicy: string | undefined, exitCode: number): boolean {
  const policy = restartPolicy ?? 'Always';
  if (policy === 'Always') return true;
  if (policy === 'OnFailure') return exitCode !== 0;
  return false;
}
