// Example function: sleeps for the `ms` query parameter (default 1000, at most 10 minutes), for concurrency tests.
import { setTimeout as sleep } from 'node:timers/promises';
import { queryParam, serve } from '../../sdk/index.js';

const MAX_MS = 600_000;

await serve(async (req, res) => {
  const ms = Number(queryParam(req, 'ms') ?? 1000);
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_MS) {
    const body = JSON.stringify({ code: 'BAD_REQUEST', message: `ms must be a number in [0; ${MAX_MS}]` });
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(body);
    return;
  }
  await sleep(ms);
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(`slept ${ms} ms\n`);
});
