// Example function for PM: writes (and optionally reads back) a file on the node's persistent memory.
//   GET /write?bytes=N&read=M   writes N bytes to a new PM file in 1 MiB blocks, flushes, reads M bytes back, removes it
//   GET /read?bytes=N           reads N bytes of a shared input file in 1 MiB blocks (written once, by the first call)
// Answers {written, read, ms, startedAt, endedAt} (epoch ms: when its PM work began and ended). The node's device times every block (on the emulated device, contention costs real time).
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { openPm, queryParam, serve } from '../../sdk/index.js';

const BLOCK = Buffer.alloc(2 ** 20, 0x5a);
const MAX_BYTES = 2 ** 34;

function bytesParam(value: string | null, fallback: number): number {
  const n = value === null ? fallback : Number(value);
  if (!Number.isInteger(n) || n < 0 || n > MAX_BYTES) throw new Error(`must be an integer number of bytes in [0; ${MAX_BYTES}]`);
  return n;
}

/** The shared input of /read, one per size, written once per process. */
const inputs = new Map<number, Promise<string>>();

function input(bytes: number): Promise<string> {
  let ready = inputs.get(bytes);
  if (!ready) {
    ready = (async () => {
      const name = `input-${bytes}-${process.pid}`;
      const file = await openPm(name, 'w+');
      for (let written = 0; written < bytes; written += BLOCK.length) await file.write(BLOCK.subarray(0, Math.min(BLOCK.length, bytes - written)));
      await file.close();
      return name;
    })();
    inputs.set(bytes, ready);
  }
  return ready;
}

async function readInput(bytes: number): Promise<{ read: number; ms: number; startedAt: number; endedAt: number }> {
  const name = await input(bytes);
  const started = performance.now();
  const startedAt = Date.now();
  const file = await openPm(name, 'r');
  let read = 0;
  try {
    while (read < bytes) read += (await file.read(Math.min(BLOCK.length, bytes - read), read)).length;
  } finally {
    await file.close();
  }
  return { read, ms: performance.now() - started, startedAt, endedAt: Date.now() };
}

await serve(async (req, res) => {
  if (req.url?.startsWith('/read')) {
    let bytes: number;
    try {
      bytes = bytesParam(queryParam(req, 'bytes'), 16 * 2 ** 20);
    } catch (err) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 'BAD_REQUEST', message: `bytes ${(err as Error).message}` }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ written: 0, ...(await readInput(bytes)) }));
    return;
  }
  let bytes: number;
  let readBytes: number;
  try {
    bytes = bytesParam(queryParam(req, 'bytes'), 16 * 2 ** 20);
    readBytes = bytesParam(queryParam(req, 'read'), 0);
  } catch (err) {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code: 'BAD_REQUEST', message: `bytes/read ${(err as Error).message}` }));
    return;
  }
  const started = performance.now();
  const startedAt = Date.now();
  const name = `task-${randomUUID()}`;
  const file = await openPm(name, 'w+');
  let read = 0;
  try {
    for (let written = 0; written < bytes; written += BLOCK.length) {
      await file.write(BLOCK.subarray(0, Math.min(BLOCK.length, bytes - written)));
    }
    await file.flush();
    while (read < Math.min(readBytes, bytes)) read += (await file.read(Math.min(BLOCK.length, readBytes - read), read)).length;
  } finally {
    await file.close();
    await rm(path.join(process.env.SLUICE_PM_DIR ?? '', name), { force: true });
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ written: bytes, read, ms: performance.now() - started, startedAt, endedAt: Date.now() }));
});
