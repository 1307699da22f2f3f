// What every platform that launches a queue-proxy must agree on: its fixed ports (each instance has its own IP, so
// they never clash) and how its kebab-case settings become environment variables. The local node agent's launch plan
// and the Kubernetes operator's sidecar both build on it.

export const QUEUE_PROXY_TRAFFIC_PORT = 8012;
export const QUEUE_PROXY_ADMIN_PORT = 8022;
export const QUEUE_PROXY_METRICS_PORT = 9091;
export const QUEUE_PROXY_XDT_PORT = 8013;

/** "xdt-port" → SLUICE_QUEUE_PROXY_XDT_PORT (the queue-proxy's config loader reads them back). */
export function queueProxyEnvName(key: string): string {
  return `SLUICE_QUEUE_PROXY_${key.toUpperCase().replaceAll('-', '_')}`;
}
