// Example function: streams the request body back unchanged (never holds it whole).
import { pipeline } from 'node:stream/promises';
import { serve } from '../../sdk/index.js';

await serve(async (req, res) => {
  const headers: Record<string, string> = { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' };
  if (req.headers['content-length'] !== undefined) headers['content-length'] = req.headers['content-length'];
  res.writeHead(200, headers);
  await pipeline(req, res);
});
