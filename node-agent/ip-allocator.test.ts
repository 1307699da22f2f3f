import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IpAllocator } from './ip-allocator.js';

type Op = { allocate: true } | { release: string };

test('IpAllocator', () => {
  const rows: Array<{ name: string; input: { index: number; ops: Op[] }; want: Array<string | Error> }> = [
    {
      name: 'hands out addresses from .2 upward',
      input: { index: 7, ops: [{ allocate: true }, { allocate: true }, { allocate: true }] },
      want: ['127.0.7.2', '127.0.7.3', '127.0.7.4'],
    },
    {
      name: 'a released address is reused only after the never-used ones',
      input: { index: 1, ops: [{ allocate: true }, { release: '127.0.1.2' }, { allocate: true }] },
      want: ['127.0.1.2', '127.0.1.3'],
    },
    {
      name: 'released addresses come back least recently released first',
      input: {
        index: 1,
        ops: [
          ...Array.from({ length: 253 }, () => ({ allocate: true }) as const),
          { release: '127.0.1.9' },
          { release: '127.0.1.4' },
          { allocate: true },
          { allocate: true },
        ],
      },
      want: [...Array.from({ length: 253 }, (_, i) => `127.0.1.${i + 2}`), '127.0.1.9', '127.0.1.4'],
    },
    {
      name: 'exhausted',
      input: { index: 2, ops: [...Array.from({ length: 254 }, () => ({ allocate: true }) as const)] },
      want: [...Array.from({ length: 253 }, (_, i) => `127.0.2.${i + 2}`), new Error('no free instance address in 127.0.2.0/24 (253 in use)')],
    },
    {
      name: 'double release and foreign addresses are ignored',
      input: {
        index: 3,
        ops: [{ allocate: true }, { release: '127.0.3.2' }, { release: '127.0.3.2' }, { release: '10.0.0.1' }, { allocate: true }],
      },
      want: ['127.0.3.2', '127.0.3.3'],
    },
  ];
  for (const row of rows) {
    const allocator = new IpAllocator(row.input.index);
    const got: Array<string | Error> = [];
    for (const op of row.input.ops) {
      if ('release' in op) {
        allocator.release(op.release);
        continue;
      }
      try {
        got.push(allocator.allocate());
      } catch (err) {
        got.push(new Error((err as Error).message));
      }
    }
    assert.deepEqual(got, row.want, row.name);
  }
});

test('IpAllocator counts and rejects bad indexes', () => {
  const allocator = new IpAllocator(254);
  allocator.allocate();
  assert.equal(allocator.used, 1);
  assert.equal(allocator.available, 252);
  assert.throws(() => new IpAllocator(0), /node index 0 must be an integer in \[1; 254\]/);
  assert.throws(() => new IpAllocator(255), RangeError);
});

test('IpAllocator over a given range hands out its .2 to .254', () => {
  const allocator = new IpAllocator('10.214.2');
  assert.equal(allocator.allocate(), '10.214.2.2');
  assert.equal(allocator.available, 252);
});
