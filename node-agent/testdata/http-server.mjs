// Test function server: a tiny HTTP server on HOST:PORT that answers "ok"; GET /env shows its platform environment,
// GET /pause?ms=N stops accepting connections for N ms (to make the readiness probe fail).
import http from 'node:http';
import { setTimeout } from 'node:timers';
import { URL } from 'node:url';

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 8080);

const server = http.createServer((req, res) => {
  if (req.url === '/env') {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(PORT|HOST|GREETING)$|^SLUICE_/.test(k)));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ env, cwd: process.cwd(), argv: process.argv.slice(2) }));
    return;
  }
  if (req.url?.startsWith('/pause')) {
    const ms = Number(new URL(req.url, 'http://x').searchParams.get('ms') ?? 1000);
    res.writeHead(200).end('paused\n', () => {
      server.close();
      server.closeAllConnections();
      setTimeout(() => server.listen(port, host), ms);
    });
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
});
server.listen(port, host);
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
