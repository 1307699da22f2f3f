// TEST INFRASTRUCTURE (virtual kubelet). The Service environment variables kubelet gives every container.
//
// Ports of kubelet's getServiceEnvVarMap (which Services) and pkg/kubelet/envvars.FromServices (which variables):
// for every Service with a cluster IP in the pod's namespace (when enableServiceLinks, the default) plus the
// `kubernetes` Service of `default` (always), `<NAME>_SERVICE_HOST`, `<NAME>_SERVICE_PORT` (first port),
// `<NAME>_SERVICE_PORT_<PORTNAME>` (named ports) and the Docker-link variables `<NAME>_PORT`,
// `<NAME>_PORT_<port>_<PROTO>{,_PROTO,_PORT,_ADDR}`. NAME is the Service name upper-cased with "-" → "_".
import type { Service } from './types.js';

/** Services of the default namespace whose variables every pod gets (kubelet's masterServices). */
const MASTER_SERVICES = new Set(['kubernetes']);

/** ClusterIP "None" (headless) or empty (ExternalName) means no variables. */
export function isServiceIpSet(service: Service): boolean {
  const ip = service.spec.clusterIP ?? '';
  return ip !== '' && ip !== 'None';
}

function envName(name: string): string {
  return name.replaceAll('-', '_').toUpperCase();
}

function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The variables of some Services (envvars.FromServices). */
export function fromServices(services: readonly Service[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const service of services) {
    const ports = service.spec.ports ?? [];
    if (!isServiceIpSet(service) || ports.length === 0) continue;
    const ip = service.spec.clusterIP!;
    const prefix = envName(service.metadata.name);
    out.set(`${prefix}_SERVICE_HOST`, ip);
    out.set(`${prefix}_SERVICE_PORT`, String(ports[0].port));
    for (const port of ports) {
      if (port.name) out.set(`${prefix}_SERVICE_PORT_${envName(port.name)}`, String(port.port));
    }
    ports.forEach((port, i) => {
      const protocol = port.protocol || 'TCP';
      const url = `${protocol.toLowerCase()}://${joinHostPort(ip, port.port)}`;
      if (i === 0) out.set(`${prefix}_PORT`, url);
      const portPrefix = `${prefix}_PORT_${port.port}_${protocol.toUpperCase()}`;
      out.set(portPrefix, url);
      out.set(`${portPrefix}_PROTO`, protocol.toLowerCase());
      out.set(`${portPrefix}_PORT`, String(port.port));
      out.set(`${portPrefix}_ADDR`, ip);
    });
  }
  return out;
}

/** kubelet's getServiceEnvVarMap: `services` are all the cluster's Services (any namespace). */
export function serviceEnvVars(services: readonly Service[], namespace: string, enableServiceLinks: boolean): Map<string, string> {
  const byName = new Map<string, Service>();
  for (const service of services) {
    if (!isServiceIpSet(service)) continue;
    const name = service.metadata.name;
    if (service.metadata.namespace === 'default' && MASTER_SERVICES.has(name)) {
      if (!byName.has(name)) byName.set(name, service);
    } else if (service.metadata.namespace === namespace && enableServiceLinks) {
      byName.set(name, service);
    }
  }
  return fromServices([...byName.values()]);
}
