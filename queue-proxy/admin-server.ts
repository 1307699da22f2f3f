// The queue-proxy's admin port: /ready (fails until the function server is ready and while draining) and /healthz.
import { healthzRoute, routesHandler, sendJson, type RouteHandler } from '../lib/metrics-server.js';

/** /ready answers 200 only while the function server is ready and the proxy is not draining. */
export function adminHandler(isReady: () => boolean): RouteHandler {
  return routesHandler({
    '/ready': (_req, res) => {
      const ready = isReady();
      sendJson(res, ready ? 200 : 503, { ready });
    },
    '/healthz': healthzRoute,
  });
}
