// Tests for the MinIO helpers that need no build: the cache check and the server environment.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { benchCacheDir, isCached, MINIO_VERSION, minioEnv } from './minio-server.js';

test('isCached: needs the binary and a stamp naming the pinned version', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-minio-cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(isCached(dir, MINIO_VERSION), false);
  writeFileSync(path.join(dir, 'minio'), '');
  assert.equal(isCached(dir, MINIO_VERSION), false, 'binary without stamp (an older build)');
  writeFileSync(path.join(dir, 'minio.version'), 'v0.0.0-20200101000000-000000000000\n');
  assert.equal(isCached(dir, MINIO_VERSION), false, 'stamp of another version');
  writeFileSync(path.join(dir, 'minio.version'), `${MINIO_VERSION}\n`);
  assert.equal(isCached(dir, MINIO_VERSION), true);
});

test('benchCacheDir: SLUICE_BENCH_CACHE overrides ~/.cache/sluice-bench', () => {
  assert.equal(benchCacheDir({ SLUICE_BENCH_CACHE: '/x' }), '/x');
  assert.equal(benchCacheDir({}), path.join(os.homedir(), '.cache', 'sluice-bench'));
});

test('minioEnv: fixed credentials, no console or update check, the caller MINIO_* dropped', () => {
  const env = minioEnv({ PATH: '/bin', MINIO_ROOT_USER: 'mine', MINIO_API_REQUESTS_MAX: '1' });
  assert.equal(env.PATH, '/bin');
  assert.notEqual(env.MINIO_ROOT_USER, 'mine');
  assert.ok((env.MINIO_ROOT_PASSWORD ?? '').length >= 8, 'MinIO refuses passwords under 8 characters');
  assert.equal(env.MINIO_BROWSER, 'off');
  assert.equal(env.MINIO_UPDATE, 'off');
  assert.equal(env.MINIO_API_REQUESTS_MAX, undefined);
});
