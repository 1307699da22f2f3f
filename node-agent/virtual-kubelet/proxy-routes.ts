// TEST INFRASTRUCTURE (service proxy, a kube-proxy stand-in). Which cluster IP:port forwards to which endpoints.
//
// kube-proxy's rules, reduced to what a TCP forwarder needs: every Service with a cluster IP (not headless, not
// ExternalName), every TCP port of it, on every IPv4 cluster IP; its endpoints are the EndpointSlices labelled
// kubernetes.io/service-name=<service> in the Service's namespace, the slice port with the Service port's name
// giving the target port. Ready endpoints serve; when none is ready, serving-and-terminating ones do
// (kube-proxy's terminating-endpoint fallback). UDP and SCTP ports, NodePorts, session affinity and traffic
// policies are not emulated.
import { isServiceIpSet } from './service-env.js';
import type { EndpointSlice, Service } from './types.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface Backend {
  ip: string;
  port: number;
}

export interface ProxyRoute {
  /** `<cluster ip>:<port>` */
  key: string;
  ip: string;
  port: number;
  namespace: string;
  service: string;
  portName: string;
  /** Sorted by address, no duplicates. */
  backends: Backend[];
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

function backendsFor(service: Service, portName: string, slices: readonly EndpointSlice[]): Backend[] {
  const ready = new Map<string, Backend>();
  const terminating = new Map<string, Backend>();
  for (const slice of slices) {
    if (slice.metadata.namespace !== service.metadata.namespace) continue;
    if (slice.metadata.labels?.[SERVICE_NAME_LABEL] !== service.metadata.name) continue;
    if (slice.addressType !== 'IPv4') continue;
    const port = (slice.ports ?? []).find((p) => (p.name ?? '') === portName && (p.protocol ?? 'TCP') === 'TCP');
    if (!port || port.port === undefined || port.port === null) continue;
    for (const endpoint of slice.endpoints ?? []) {
      const c = endpoint.conditions ?? {};
      // Unset ready means ready (the API's documented default).
      const into = c.ready !== false ? ready : c.serving === true && c.terminating === true ? terminating : undefined;
      for (const ip of into ? endpoint.addresses : []) into!.set(`${ip}:${port.port}`, { ip, port: port.port });
    }
  }
  const chosen = ready.size > 0 ? ready : terminating;
  return [...chosen.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, backend]) => backend);
}

/** Every route the cluster's Services and EndpointSlices call for, by `<ip>:<port>`. */
export function proxyRoutes(services: readonly Service[], slices: readonly EndpointSlice[]): Map<string, ProxyRoute> {
  const routes = new Map<string, ProxyRoute>();
  for (const service of services) {
    if (!isServiceIpSet(service) || service.spec.type === 'ExternalName') continue;
    const ips = (service.spec.clusterIPs?.length ? service.spec.clusterIPs : [service.spec.clusterIP!]).filter((ip) => IPV4.test(ip));
    for (const port of service.spec.ports ?? []) {
      if ((port.protocol ?? 'TCP') !== 'TCP') continue;
      const portName = port.name ?? '';
      const backends = backendsFor(service, portName, slices);
      for (const ip of ips) {
        const key = `${ip}:${port.port}`;
        routes.set(key, { key, ip, port: port.port, namespace: service.metadata.namespace ?? 'default', service: service.metadata.name, portName, backends });
      }
    }
  }
  return routes;
}

/** Round-robin: the backend for the `n`-th connection to a route. */
export function pickBackend(backends: readonly Backend[], n: number): Backend | undefined {
  return backends.length === 0 ? undefined : backends[n % backends.length];
}
