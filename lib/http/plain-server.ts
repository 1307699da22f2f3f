// Listening and closing plain node:http servers (admin and metrics ports) with promises.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens on host:port (0 = any free port); rejects on a bind error such as EADDRINUSE. */
export function listenHttp(server: http.Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Stops listening and cuts every connection, idle or not; resolves once closed. Fine on a server that never listened. */
export function closeHttp(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      server.closeAllConnections();
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
