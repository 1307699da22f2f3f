// TEST INFRASTRUCTURE (virtual kubelet). Which pods a process-based stand-in for kubelet can run honestly.
//
// Containers here are plain processes in one shared mount and network namespace, so anything that needs a
// container's own filesystem is refused up front (the pod goes Failed with reason UnsupportedPodSpec and a message
// naming the field) rather than run differently from a real cluster. The one volume accepted is the projected
// `kube-api-access-*` volume that the ServiceAccount admission plugin adds: its token is delivered as a per-pod
// kubeconfig instead (see pod-kubeconfig.ts).
import type { Container, Handler, Pod, Volume } from './types.js';

export const UNSUPPORTED_REASON = 'UnsupportedPodSpec';

/** The auto-added service account token volume (ServiceAccount admission names it kube-api-access-<random>). */
export function isServiceAccountTokenVolume(volume: Volume): boolean {
  return volume.name.startsWith('kube-api-access-') && volume.projected !== undefined && Object.keys(volume).every((k) => k === 'name' || k === 'projected');
}

function volumeType(volume: Volume): string {
  return Object.keys(volume).find((k) => k !== 'name') ?? 'unknown';
}

function handlerProblem(handler: Handler | undefined, what: string): string | undefined {
  if (handler?.grpc) return `${what} uses a grpc action, which is not supported (use httpGet, tcpSocket or exec)`;
  return undefined;
}

function containerProblems(container: Container, kind: 'container' | 'init container'): string[] {
  const problems: string[] = [];
  const where = `${kind} "${container.name}"`;
  for (const [probe, what] of [
    [container.livenessProbe, 'livenessProbe'],
    [container.readinessProbe, 'readinessProbe'],
    [container.startupProbe, 'startupProbe'],
  ] as const) {
    const p = handlerProblem(probe, `${where} ${what}`);
    if (p) problems.push(p);
  }
  if (kind === 'init container' && container.restartPolicy === 'Always') {
    problems.push(`${where} is a sidecar (restartPolicy: Always), which is not supported`);
  }
  if (kind === 'container' && (container.restartPolicy !== undefined || container.restartPolicyRules !== undefined)) {
    problems.push(`${where} sets a container-level restartPolicy, which is not supported`);
  }
  return problems;
}

/** Why the pod cannot run here, or undefined when it can. */
export function unsupportedReason(pod: Pod): string | undefined {
  const problems: string[] = [];
  for (const volume of pod.spec.volumes ?? []) {
    if (!isServiceAccountTokenVolume(volume)) {
      problems.push(`volume "${volume.name}" (${volumeType(volume)}) is not supported: processes share one filesystem, only the auto-added kube-api-access-* token volume is accepted`);
    }
  }
  for (const c of pod.spec.initContainers ?? []) problems.push(...containerProblems(c, 'init container'));
  for (const c of pod.spec.containers) problems.push(...containerProblems(c, 'container'));
  if (problems.length === 0) return undefined;
  return `virtual kubelet (test infrastructure, containers are local processes) cannot run this pod: ${problems.join('; ')}`;
}
