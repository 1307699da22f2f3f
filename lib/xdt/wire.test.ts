// The XDT wire: gRPC message framing parsed across every possible split of the received bytes, streamed bytes
// fields, small messages, errors as statuses, and streamChunks handing buffers on without copies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { SluiceError } from '../errors.js';
import { CHUNK_DATA_TAG, dataPrefix, decodeMessage, encodeMessage, errorFromStatus, readMessages, statusTrailers, streamChunks, type WireEvent } from './wire.js';

async function* from(parts: Buffer[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield p;
}

async function parse(parts: Buffer[]): Promise<{ data: Buffer; messages: Buffer[] }> {
  const data: Buffer[] = [];
  const messages: Buffer[] = [];
  for await (const e of readMessages(from(parts), CHUNK_DATA_TAG) as AsyncGenerator<WireEvent>) {
    if (e.kind === 'data') data.push(Buffer.from(e.bytes));
    else messages.push(Buffer.from(e.bytes));
  }
  return { data: Buffer.concat(data), messages };
}

const payload = Buffer.from(Array.from({ length: 300 }, (_, i) => i & 0xff));
const meta = encodeMessage('Chunk', { total_size: 300, content_type: 'text/plain' });
const wire = Buffer.concat([meta, dataPrefix(CHUNK_DATA_TAG, 200), payload.subarray(0, 200), dataPrefix(CHUNK_DATA_TAG, 100), payload.subarray(200)]);

test('readMessages: every split into two and three parts gives the same metadata message and bytes', async () => {
  for (let i = 0; i <= wire.length; i++) {
    for (const j of [i, Math.min(wire.length, i + 1), Math.min(wire.length, i + 7)]) {
      const got = await parse([wire.subarray(0, i), wire.subarray(i, j), wire.subarray(j)]);
      assert.ok(got.data.equals(payload), `split at ${i}/${j}: bytes differ`);
      assert.equal(got.messages.length, 1, `split at ${i}/${j}`);
      assert.deepEqual(decodeMessage('Chunk', got.messages[0]), { data: Buffer.alloc(0), total_size: 300, content_type: 'text/plain', shm: false, shm_written: 0, source_wait_ms: 0 });
    }
  }
});

test('readMessages: a Chunk from another encoder (data and metadata in one message) is a whole message', async () => {
  const whole = encodeMessage('Chunk', { data: payload, total_size: 300 });
  const got = await parse([whole.subarray(0, 3), whole.subarray(3)]);
  assert.equal(got.data.length, 0);
  assert.ok((decodeMessage('Chunk', got.messages[0]) as { data: Buffer }).data.equals(payload));
});

test('readMessages: a stream cut in the middle of a message is XDT_OBJECT_GONE; compression is refused', async () => {
  await assert.rejects(parse([wire.subarray(0, wire.length - 1)]), (e: unknown) => (e as SluiceError).code === 'XDT_OBJECT_GONE');
  const compressed = Buffer.from(meta);
  compressed[0] = 1;
  await assert.rejects(parse([compressed]), (e: unknown) => (e as SluiceError).code === 'BAD_REQUEST');
});

test('statuses: a Sluice error survives the trip through trailers; unknown peers map to stable codes', () => {
  const rows: Array<{ err: unknown; peerHeaders?: Record<string, string>; want: string }> = [
    { err: new SluiceError('XDT_REF_EXPIRED', 'expired 5 ms ago'), want: 'XDT_REF_EXPIRED' },
    { err: new SluiceError('XDT_OBJECT_TOO_LARGE', 'too large: 1 % of "x"'), want: 'XDT_OBJECT_TOO_LARGE' },
    { err: new Error('boom'), want: 'INTERNAL' },
    { err: undefined, peerHeaders: { 'grpc-status': '14', 'grpc-message': 'connection refused' }, want: 'XDT_OBJECT_GONE' },
    { err: undefined, peerHeaders: { 'grpc-status': '12', 'grpc-message': 'unimplemented' }, want: 'INTERNAL' },
  ];
  for (const row of rows) {
    const headers = row.peerHeaders ?? (statusTrailers(row.err) as Record<string, string>);
    const back = errorFromStatus(headers, 'peer:1');
    assert.equal(back?.code, row.want);
    if (row.err instanceof SluiceError) assert.equal(back?.message, row.err.message);
  }
  assert.equal(errorFromStatus({ 'grpc-status': '0' }, 'peer:1'), undefined);
});

test('streamChunks yields the very buffers written (no concatenation), pauses a fast writer, ends and fails like the stream', async () => {
  const stream = new PassThrough();
  const written = Array.from({ length: 50 }, (_, i) => Buffer.alloc(10, i));
  for (const b of written) stream.write(b);
  stream.end();
  const got: Buffer[] = [];
  for await (const b of streamChunks(stream, 4)) got.push(b);
  assert.equal(got.length, written.length);
  got.forEach((b, i) => assert.equal(b.buffer === written[i].buffer || b.equals(written[i]), true));
  assert.ok(got.every((b) => b.length === 10), 'buffers were merged');

  const failing = new PassThrough();
  setImmediate(() => failing.destroy(new Error('reset')));
  await assert.rejects(
    (async () => {
      for await (const b of streamChunks(failing)) void b;
    })(),
    /reset/,
  );
});
