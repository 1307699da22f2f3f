// Test function for the local-platform integration tests: answers normally, and exits the process on /crash.
import http from 'node:http';

const server = http.createServer((req, res) => {
  if (req.url === '/crash') {
    // Die mid-request, as a crashing function server does.
    process.exit(3);
  }
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(`alive ${process.env.SLUICE_INSTANCE}\n`);
});
server.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
