// TEST INFRASTRUCTURE (service proxy). A kube-proxy stand-in: listens on every ClusterIP:port (TCP) and forwards each
// connection to a ready endpoint, round-robin.
//
// Only one process of the test cluster runs it (the virtual kubelet with `service-proxy=true`): all pods share
// this machine's network namespace, where the harness makes 10.96.0.0/16 locally bindable, so one listener per
// Service port serves every pod. Listeners follow Services; endpoints follow EndpointSlices (the real
// controller-manager's). A connection with no endpoint is reset (kube-proxy rejects it); a backend that refuses
// is skipped for the next one (kube-proxy's iptables mode would fail that connection instead).
import net from 'node:net';
import type { Logger } from '../../lib/logger.js';
import type { Informer } from './informer.js';
import { pickBackend, proxyRoutes } from './proxy-routes.js';
import type { Backend, ProxyRoute } from './proxy-routes.js';
import type { EndpointSlice, Service } from './types.js';

const RETRY_LISTEN_MS = 2_000;
const CONNECT_TIMEOUT_MS = 5_000;

interface Listener {
  route: ProxyRoute;
  server: net.Server;
  listening: boolean;
  connections: number;
}

export class ServiceProxy {
  private readonly listeners = new Map<string, Listener>();
  private readonly sockets = new Set<net.Socket>();
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Routes whose listen failed (logged once). */
  private readonly failing = new Set<string>();

  constructor(
    private readonly services: Informer<Service>,
    private readonly slices: Informer<EndpointSlice>,
    private readonly logger: Logger,
  ) {}

  /** Routes as they are now, by `<ip>:<port>` (listening or not). */
  routes(): ProxyRoute[] {
    return [...this.listeners.values()].map((l) => l.route);
  }

  /** Call on any Service or EndpointSlice change; coalesced. */
  changed(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.reconcile();
    });
  }

  private reconcile(): void {
    if (this.closed) return;
    const wanted = proxyRoutes([...this.services.store.values()], [...this.slices.store.values()]);
    for (const [key, listener] of this.listeners) {
      if (wanted.has(key)) continue;
      // Established connections stay (as conntrack entries would); only new ones stop.
      listener.server.close();
      this.listeners.delete(key);
      this.logger.info({ route: key, service: `${listener.route.namespace}/${listener.route.service}` }, 'service port removed');
    }
    for (const [key, route] of wanted) {
      const existing = this.listeners.get(key);
      if (existing) {
        if (JSON.stringify(existing.route.backends) !== JSON.stringify(route.backends)) {
          this.logger.info({ route: key, backends: route.backends.map((b) => `${b.ip}:${b.port}`) }, 'service endpoints changed');
        }
        existing.route = route;
        continue;
      }
      this.listen(route);
    }
  }

  private listen(route: ProxyRoute): void {
    const server = net.createServer((socket) => this.forward(listener, socket));
    const listener: Listener = { route, server, listening: false, connections: 0 };
    this.listeners.set(route.key, listener);
    server.on('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EADDRINUSE'
          ? 'the address is taken: another service proxy (another test cluster on this machine?) serves it'
          : err.code === 'EADDRNOTAVAIL'
            ? 'the address is not local: is 10.96.0.0/16 routed to lo (ip route replace local 10.96.0.0/16 dev lo)?'
            : err.message;
      // Loud once per route, then quiet while it keeps retrying.
      const level = this.failing.has(route.key) ? 'debug' : 'error';
      this.failing.add(route.key);
      this.logger[level]({ err: err.message, route: route.key }, `cannot listen on the service IP, retrying: ${why}`);
      if (this.listeners.get(route.key) === listener) this.listeners.delete(route.key);
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.changed(), RETRY_LISTEN_MS);
    });
    server.listen({ host: route.ip, port: route.port }, () => {
      listener.listening = true;
      this.failing.delete(route.key);
      this.logger.info(
        { route: route.key, service: `${route.namespace}/${route.service}`, port: route.portName, backends: route.backends.map((b) => `${b.ip}:${b.port}`) },
        'service port listening',
      );
    });
  }

  private forward(listener: Listener, client: net.Socket): void {
    this.sockets.add(client);
    client.once('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    const { backends } = listener.route;
    const first = listener.connections++;
    const attempt = (tries: number): void => {
      const backend: Backend | undefined = pickBackend(backends, first + tries);
      if (!backend || tries >= backends.length) {
        client.resetAndDestroy();
        return;
      }
      const upstream = net.connect({ host: backend.ip, port: backend.port });
      this.sockets.add(upstream);
      upstream.once('close', () => this.sockets.delete(upstream));
      const timer = setTimeout(() => upstream.destroy(new Error('connect timeout')), CONNECT_TIMEOUT_MS);
      upstream.once('connect', () => {
        clearTimeout(timer);
        upstream.removeAllListeners('error');
        upstream.on('error', () => client.destroy());
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
      });
      upstream.once('error', (err) => {
        clearTimeout(timer);
        this.logger.warn({ err: err.message, route: listener.route.key, backend: `${backend.ip}:${backend.port}` }, 'backend connect failed');
        attempt(tries + 1);
      });
    };
    attempt(0);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const closing = [...this.listeners.values()].map((l) => new Promise<void>((resolve) => (l.listening ? l.server.close(() => resolve()) : resolve())));
    this.listeners.clear();
    for (const s of this.sockets) s.destroy();
    await Promise.all(closing);
  }
}
