// The consumer side's pure parts: bounded read-ahead (what it holds, what it refuses) and coalescing of small pieces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { SluiceError } from '../../lib/errors.js';
import { coalesce, readAhead } from './inbound.js';

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const b of source) out.push(b);
  return out;
}

test('coalesce joins runs of small pieces to at least the minimum, passes large ones as they are, loses nothing', async () => {
  const rows: Array<{ sizes: number[]; min: number; want: number[] }> = [
    { sizes: [10, 10, 10, 10], min: 25, want: [30, 10] },
    { sizes: [100, 5, 5], min: 50, want: [100, 10] },
    { sizes: [5, 100], min: 50, want: [105] },
    { sizes: [], min: 50, want: [] },
  ];
  for (const row of rows) {
    const parts = row.sizes.map((n, i) => Buffer.alloc(n, i + 1));
    const got = await collect(coalesce((async function* () { yield* parts; })(), row.min));
    assert.deepEqual(got.map((b) => b.length), row.want, JSON.stringify(row));
    assert.ok(Buffer.concat(got).equals(Buffer.concat(parts)));
  }
});

test('readAhead reads at most its budget ahead of a consumer that does not read', async () => {
  let produced = 0;
  async function* source(): AsyncGenerator<Buffer> {
    for (let i = 0; i < 100; i++) {
      produced += 1000;
      yield Buffer.alloc(1000, i);
      await tick();
    }
  }
  const ahead = readAhead(source(), 5000);
  for (let i = 0; i < 50; i++) await tick();
  assert.ok(produced <= 6000, `read ${produced} bytes ahead with a 5000-byte budget`);
  const all = await collect(ahead.body);
  assert.equal(Buffer.concat(all).length, 100_000);
  assert.equal(ahead.error, undefined);
});

test('readAhead whole (store-and-forward): nothing before the end, and an object over the budget is XDT_OBJECT_TOO_LARGE', async () => {
  async function* source(n: number): AsyncGenerator<Buffer> {
    for (let i = 0; i < n; i++) yield Buffer.alloc(1000);
  }
  assert.equal(Buffer.concat(await collect(readAhead(source(4), 5000, true).body)).length, 4000);
  const tooLarge = readAhead(source(10), 5000, true);
  await assert.rejects(collect(tooLarge.body), (e: unknown) => e instanceof SluiceError && e.code === 'XDT_OBJECT_TOO_LARGE');
});

test('readAhead turns a failing source into the error the forward reports', async () => {
  // eslint-disable-next-line require-yield
  async function* failing(): AsyncGenerator<Buffer> {
    throw new Error('producer reset');
  }
  const ahead = readAhead(failing(), 5000);
  await assert.rejects(collect(ahead.body), (e: unknown) => e instanceof SluiceError && e.code === 'XDT_OBJECT_GONE' && /producer reset/.test(e.message));
  assert.equal(ahead.error?.code, 'XDT_OBJECT_GONE');
});
