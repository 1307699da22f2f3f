// TEST FIXTURE for the virtual kubelet's e2e test: a tiny HTTP server on HOST:PORT.
// GET /env → {env, pid, argv, cwd} (the whole environment the "container" got); GET /exit?code=N → exits with N
// (a crash, to see the restart policy); anything else → "ok <pod>". SIGTERM: close and exit 0.
import http from 'node:http';
import { URL } from 'node:url';

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 8080);

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/env') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ env: process.env, pid: process.pid, argv: process.argv.slice(2), cwd: process.cwd() }));
    return;
  }
  if (url.pathname === '/exit') {
    const code = Number(url.searchParams.get('code') ?? 1);
    res.writeHead(200).end(`exiting with ${code}\n`, () => process.exit(code));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain' }).end(`ok ${process.env.POD_NAME ?? ''}\n`);
});
server.listen(port, host, () => console.log(`listening on ${host}:${port}`));
process.on('SIGTERM', () => {
  console.log('SIGTERM: closing');
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
