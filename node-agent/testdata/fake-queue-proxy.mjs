// Fake queue-proxy, a test stand-in for the node agent's unit tests only (the real one is queue-proxy/main.ts):
// serves GET /ready on the admin port (200 once the user port accepts TCP, 503 while draining), /healthz, and /env.
// With SLUICE_QUEUE_PROXY_AWAIT_CONFIG=stdin it is a warm spare like the real one: "ready" over IPC, then one JSON config line on stdin.
import http from 'node:http';
import net from 'node:net';

const env = process.env;
let config = {
  'bind-address': env.SLUICE_QUEUE_PROXY_BIND_ADDRESS,
  'admin-port': env.SLUICE_QUEUE_PROXY_ADMIN_PORT,
  'user-host': env.SLUICE_QUEUE_PROXY_USER_HOST,
  'user-port': env.SLUICE_QUEUE_PROXY_USER_PORT,
};
if (env.SLUICE_QUEUE_PROXY_AWAIT_CONFIG === 'stdin') {
  process.send?.('ready', () => process.disconnect());
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  if (text.trim() === '') process.exit(0);
  config = JSON.parse(text);
}
const bindAddress = config['bind-address'] ?? '127.0.0.1';
const adminPort = Number(config['admin-port'] ?? 8022);
const userHost = config['user-host'] ?? '127.0.0.1';
const userPort = Number(config['user-port'] ?? 8080);
let draining = false;

function userPortAccepts() {
  return new Promise((resolve) => {
    const socket = net.connect({ host: userHost, port: userPort });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const server = http.createServer(async (req, res) => {
  if (req.url === '/ready') {
    const ready = !draining && (await userPortAccepts());
    res.writeHead(ready ? 200 : 503).end(ready ? 'ready\n' : 'not ready\n');
  } else if (req.url === '/healthz') {
    res.writeHead(200).end('ok\n');
  } else if (req.url === '/env') {
    const own = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('SLUICE_')));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ env: own, argv: process.argv.slice(1) }));
  } else {
    res.writeHead(404).end();
  }
});
server.listen(adminPort, bindAddress);
process.on('SIGTERM', () => {
  draining = true;
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
