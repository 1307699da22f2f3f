// Example function: burns CPU for the `ms` query parameter (default 100, at most 60 s) and reports the work done.
import { createHash } from 'node:crypto';
import { queryParam, serve } from '../../sdk/index.js';

const MAX_MS = 60_000;

await serve((req, res) => {
  const ms = Number(queryParam(req, 'ms') ?? 100);
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_MS) {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code: 'BAD_REQUEST', message: `ms must be a number in [0; ${MAX_MS}]` }));
    return;
  }
  const end = performance.now() + ms;
  let rounds = 0;
  let digest = Buffer.alloc(32);
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) digest = createHash('sha256').update(digest).digest();
    rounds += 100;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ ms, sha256Rounds: rounds, digest: digest.toString('hex').slice(0, 16) }));
});
