// Ready instances of a function from its EndpointSlices (pure), as the activator needs them.
import type { V1EndpointSlice } from '@kubernetes/client-node';
import type { Endpoint } from '../types.js';

/** The queue-proxy traffic port's name in the operator's Service. */
export const TRAFFIC_PORT_NAME = 'http';

/**
 * Endpoints that are ready (a nil ready condition means ready, per the EndpointSlice API), of every
 * slice of the function; an endpoint may appear in two slices while the controller moves it, so
 * they are de-duplicated by address.
 */
export function readyEndpoints(slices: readonly V1EndpointSlice[]): Endpoint[] {
  const byIp = new Map<string, Endpoint>();
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue;
    const port = slice.ports?.find((p) => p.name === TRAFFIC_PORT_NAME)?.port;
    if (port === undefined) continue;
    for (const e of slice.endpoints ?? []) {
      if (e.conditions?.ready === false || e.conditions?.terminating === true) continue;
      const ip = e.addresses[0];
      if (ip === undefined || byIp.has(ip)) continue;
      byIp.set(ip, { instanceName: e.targetRef?.name ?? ip, node: e.nodeName ?? '', ip, trafficPort: port });
    }
  }
  return [...byIp.values()].sort((a, b) => (a.instanceName < b.instanceName ? -1 : a.instanceName > b.instanceName ? 1 : 0));
}
