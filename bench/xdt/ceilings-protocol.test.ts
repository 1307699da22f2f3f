// Tests for the transport-ceiling wire details shared by receiver and sender.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHUNK_BYTES, chunkLengths, encodeTcpRequest, isSenderReady } from './ceilings-protocol.js';

test('chunkLengths: full chunks then the remainder, summing to the size', () => {
  const rows: Array<{ size: number; want: number[] }> = [
    { size: 0, want: [] },
    { size: 1, want: [1] },
    { size: 10, want: [4, 4, 2] },
    { size: 12, want: [4, 4, 4] },
  ];
  for (const row of rows) assert.deepEqual(chunkLengths(row.size, 4), row.want, `size ${row.size}`);
  const big = chunkLengths(100 * 1024 * 1024, CHUNK_BYTES);
  assert.equal(big.length, 1600);
  assert.equal(big.reduce((a, b) => a + b, 0), 100 * 1024 * 1024);
  assert.equal(CHUNK_BYTES, 65536);
});

test('chunkLengths: rejects sizes and chunks that are not integers', () => {
  assert.throws(() => chunkLengths(-1, 4), /non-negative/);
  assert.throws(() => chunkLengths(1.5, 4), /non-negative/);
  assert.throws(() => chunkLengths(4, 0), /positive/);
});

test('encodeTcpRequest: 8 bytes, big-endian', () => {
  const request = encodeTcpRequest(100 * 1024 * 1024 + 3);
  assert.equal(request.length, 8);
  assert.equal(Number(request.readBigUInt64BE(0)), 100 * 1024 * 1024 + 3);
});

test('isSenderReady: needs both ports', () => {
  assert.ok(isSenderReady({ grpcPort: 1, tcpPort: 2 }));
  assert.ok(!isSenderReady({ grpcPort: 1 }));
  assert.ok(!isSenderReady(null));
  assert.ok(!isSenderReady('ready'));
});
