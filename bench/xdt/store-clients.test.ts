// Blob-store clients: no client library loaded until used, and 100 MiB round trips against a live Redis and MinIO
// (each skipped, with the reason, when its server is not on this machine; tests install and build nothing).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchCacheDir, isCached, MINIO_VERSION, startMinio } from './minio-server.js';
import { startRedis } from './redis-server.js';
import { ObjectNotFoundError, redisClient, s3Client, type BlobStoreClient } from './store-clients.js';
import { findExecutable } from './system-tools.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const noRedis = findExecutable('redis-server') ? false : 'redis-server is not installed (startRedis would apt-get it; tests do not)';
const noMinio = isCached(path.join(benchCacheDir(), 'bin'), MINIO_VERSION)
  ? false
  : `MinIO ${MINIO_VERSION} is not built in ${benchCacheDir()}/bin (the first \`npm run bench -- xdt\` builds it)`;

test('constructing clients loads neither ioredis nor the AWS SDK', () => {
  const script = `
    import { createRequire } from 'node:module';
    const { redisClient, s3Client } = await import(${JSON.stringify(pathToFileURL(path.join(here, 'store-clients.js')).href)});
    redisClient('redis://127.0.0.1:1');
    s3Client({ endpoint: 'http://127.0.0.1:1', accessKey: 'a', secretKey: 'b', bucket: 'c' });
    const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => /ioredis|@aws-sdk|@smithy/.test(f));
    console.log(JSON.stringify(loaded));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), []);
});

/** put, get (same bytes), overwrite, delete, get of a missing key; then close and refuse. */
async function roundTrips(client: BlobStoreClient): Promise<void> {
  await client.connect();
  const key = `test-${process.pid}-${Date.now()}`;
  for (const size of [0, 10 * 1024, 100 * 1024 * 1024]) {
    const body = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) body[i] = (i / 4096) & 0xff;
    await client.put(key, body);
    const copy = await client.get(key);
    assert.equal(copy.length, size);
    assert.ok(copy.equals(body), `${size} bytes came back different`);
  }
  await client.put(key, Buffer.from('second'));
  assert.equal((await client.get(key)).toString(), 'second');
  await client.delete(key);
  await assert.rejects(client.get(key), ObjectNotFoundError);
  await client.delete(key); // deleting what is gone succeeds
  await client.close();
  await assert.rejects(client.get(key), /closed/);
}

test('redisClient: round trips up to 100 MiB against redis-server', { skip: noRedis, timeout: 60_000 }, async (t) => {
  const redis = await startRedis({ host: '127.0.0.1', log: () => undefined });
  t.after(() => redis.stop());
  await roundTrips(redisClient(redis.url));
});

test('redisClient: a server that is not there fails the operation (no endless retry)', async () => {
  const client = redisClient('redis://127.0.0.1:1');
  await assert.rejects(client.get('x'), /ECONNREFUSED|connect/);
  await client.close();
});

test('s3Client: round trips up to 100 MiB against MinIO on tmpfs', { skip: noMinio, timeout: 60_000 }, async (t) => {
  const minio = await startMinio({ host: '127.0.0.1', log: () => undefined });
  t.after(() => minio.stop());
  assert.match(minio.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
  await roundTrips(s3Client(minio));
});

test('startMinio: a dataDir given by the caller is kept after stop()', { skip: noMinio, timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sluice-minio-own-'));
  try {
    const minio = await startMinio({ host: '127.0.0.1', log: () => undefined, dataDir });
    await minio.stop();
    assert.ok(existsSync(dataDir));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
