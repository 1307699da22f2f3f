// Example function: answers with a greeting naming the instance that served it.
import { instanceInfo, queryParam, serve } from '../../sdk/index.js';

await serve((req, res) => {
  const name = queryParam(req, 'name') ?? 'world';
  const body = `Hello, ${name}! (from ${instanceInfo.instance || 'a local server'})\n`;
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
