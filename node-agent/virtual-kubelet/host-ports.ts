// TEST INFRASTRUCTURE (virtual kubelet). hostPorts, as the CNI portmap plugin gives them on a real node: a TCP
// connection to <node IP>:<hostPort> reaches <pod IP>:<containerPort>. Here every pod shares this machine's network
// namespace, so the "DNAT" is a small TCP forwarder per hostPort, listening on the node's IP (10.244.N.1) for as long
// as the pod's sandbox exists. A hostNetwork pod needs none (its processes bind the node IP themselves).
import net from 'node:net';
import type { Logger } from '../../lib/logger.js';
import type { Pod } from './types.js';

export interface HostPortMapping {
  container: string;
  hostIP: string;
  hostPort: number;
  podIP: string;
  containerPort: number;
}

const CONNECT_TIMEOUT_MS = 5_000;

/** The forwarders a pod needs on this node (pure). TCP only (pod-support.ts refuses the rest). */
export function hostPortMappings(pod: Pod, nodeIP: string, podIP: string): HostPortMapping[] {
  if (pod.spec.hostNetwork) return [];
  const out: HostPortMapping[] = [];
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort || (p.protocol ?? 'TCP') !== 'TCP') continue;
      out.push({ container: c.name, hostIP: nodeIP, hostPort: p.hostPort, podIP, containerPort: p.containerPort });
    }
  }
  return out;
}

export class HostPortForwarder {
  private readonly servers: net.Server[] = [];
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly logger: Logger) {}

  /** Listens on every mapping; on a failure (e.g. EADDRINUSE) closes what it opened and rejects, naming the port. */
  async open(mappings: readonly HostPortMapping[]): Promise<void> {
    try {
      for (const m of mappings) this.servers.push(await this.listen(m));
    } catch (err) {
      await this.close();
      throw err;
    }
    if (mappings.length > 0) this.logger.info({ hostPorts: mappings.map((m) => `${m.hostIP}:${m.hostPort}→${m.podIP}:${m.containerPort}`) }, 'host ports forwarded');
  }

  private listen(m: HostPortMapping): Promise<net.Server> {
    // Half-open kept on both legs: a client that ends its side still gets the pod's answer, as through a DNAT.
    const server = net.createServer({ allowHalfOpen: true }, (client) => this.forward(m, client));
    return new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`hostPort ${m.hostIP}:${m.hostPort} of container "${m.container}": ${err.code ?? err.message}`)));
      server.listen({ host: m.hostIP, port: m.hostPort }, () => resolve(server));
    });
  }

  private forward(m: HostPortMapping, client: net.Socket): void {
    this.sockets.add(client);
    client.once('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    const upstream = net.connect({ host: m.podIP, port: m.containerPort, allowHalfOpen: true });
    this.sockets.add(upstream);
    upstream.once('close', () => this.sockets.delete(upstream));
    const timer = setTimeout(() => upstream.destroy(new Error('connect timeout')), CONNECT_TIMEOUT_MS);
    upstream.once('connect', () => {
      clearTimeout(timer);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.on('error', (err) => {
      clearTimeout(timer);
      this.logger.debug({ err: err.message, hostPort: m.hostPort, backend: `${m.podIP}:${m.containerPort}` }, 'host port backend failed');
      // Nothing listens in the pod (yet): the caller sees a reset, as a DNAT to a closed port gives.
      client.resetAndDestroy();
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  /** New connections stop at once; open ones are cut (the pod's network namespace is gone). */
  async close(): Promise<void> {
    const closing = this.servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await Promise.all(closing);
  }
}
