// TEST INFRASTRUCTURE (virtual kubelet). Which pods a process-based stand-in for kubelet can run honestly.
//
// Containers here are plain processes in one shared mount and network namespace, so anything that needs a
// container's own filesystem is refused up front (the pod goes Failed with reason UnsupportedPodSpec and a message
// naming the field) rather than run differently from a real cluster. Two volumes are accepted:
// - the projected `kube-api-access-*` volume that the ServiceAccount admission plugin adds: its token is delivered
//   as a per-pod kubeconfig instead (see pod-kubeconfig.ts);
// - a hostPath directory mounted at its own path (mountPath = path, read-write, no subPath): in one shared
//   filesystem that is exactly what the container would see, so nothing needs mounting.
// hostPorts are forwarded from the node IP to the pod IP, as the CNI portmap plugin does (host-ports.ts): TCP only.
import path from 'node:path';
import type { Container, Handler, Pod, Volume } from './types.js';

export const UNSUPPORTED_REASON = 'UnsupportedPodSpec';

/** The auto-added service account token volume (ServiceAccount admission names it kube-api-access-<random>). */
export function isServiceAccountTokenVolume(volume: Volume): boolean {
  return volume.name.startsWith('kube-api-access-') && volume.projected !== undefined && Object.keys(volume).every((k) => k === 'name' || k === 'projected');
}

/** hostPath types whose check a shared filesystem can do as kubelet does (a directory, made when missing or not). */
export const HOST_PATH_TYPES: readonly string[] = ['', 'Directory', 'DirectoryOrCreate'];

function samePath(a: string, b: string): boolean {
  const clean = (p: string) => path.posix.normalize(p).replace(/(.)\/+$/, '$1');
  return clean(a) === clean(b);
}

/** Why a hostPath volume cannot be given to these containers as-is, or undefined when it can. */
function hostPathProblems(volume: Volume, containers: readonly Container[]): string[] {
  const source = volume.hostPath!;
  const problems: string[] = [];
  const where = `hostPath volume "${volume.name}" (${source.path})`;
  if (!HOST_PATH_TYPES.includes(source.type ?? '')) {
    problems.push(`${where} has type ${source.type}, which is not supported (use Directory or DirectoryOrCreate)`);
  }
  if (!path.posix.isAbsolute(source.path)) problems.push(`${where}: the path must be absolute`);
  for (const c of containers) {
    for (const m of c.volumeMounts ?? []) {
      if (m.name !== volume.name) continue;
      const at = `${where} in container "${c.name}"`;
      if (!samePath(m.mountPath, source.path)) problems.push(`${at} is mounted at ${m.mountPath}: processes share one filesystem, so a hostPath must be mounted at its own path`);
      if (m.subPath || m.subPathExpr) problems.push(`${at} uses subPath, which is not supported`);
      if (m.readOnly) problems.push(`${at} is readOnly, which a shared filesystem cannot enforce`);
      if (m.mountPropagation && m.mountPropagation !== 'None') problems.push(`${at} sets mountPropagation ${m.mountPropagation}, which is not supported`);
    }
  }
  return problems;
}

function hostPortProblems(container: Container, where: string): string[] {
  const problems: string[] = [];
  for (const p of container.ports ?? []) {
    if (!p.hostPort) continue;
    if ((p.protocol ?? 'TCP') !== 'TCP') problems.push(`${where} hostPort ${p.hostPort}/${p.protocol} is not supported (TCP only)`);
    if (p.hostIP && p.hostIP !== '0.0.0.0') problems.push(`${where} hostPort ${p.hostPort} sets hostIP ${p.hostIP}, which is not supported (the node IP is the only host address)`);
  }
  return problems;
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
  problems.push(...hostPortProblems(container, where));
  return problems;
}

/** Why the pod cannot run here, or undefined when it can. */
export function unsupportedReason(pod: Pod): string | undefined {
  const problems: string[] = [];
  const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
  for (const volume of pod.spec.volumes ?? []) {
    if (isServiceAccountTokenVolume(volume)) continue;
    if (volume.hostPath !== undefined && Object.keys(volume).every((k) => k === 'name' || k === 'hostPath')) {
      problems.push(...hostPathProblems(volume, containers));
      continue;
    }
    problems.push(
      `volume "${volume.name}" (${volumeType(volume)}) is not supported: processes share one filesystem, only the auto-added kube-api-access-* token volume and hostPath directories mounted at their own path are accepted`,
    );
  }
  for (const c of pod.spec.initContainers ?? []) problems.push(...containerProblems(c, 'init container'));
  for (const c of pod.spec.containers) problems.push(...containerProblems(c, 'container'));
  if (problems.length === 0) return undefined;
  return `virtual kubelet (test infrastructure, containers are local processes) cannot run this pod: ${problems.join('; ')}`;
}
