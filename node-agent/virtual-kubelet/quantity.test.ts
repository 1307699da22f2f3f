import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatMilliCpu, parseQuantity, quantityMilliValue, quantityValue } from './quantity.js';

test('parseQuantity: value and milli-value, rounded up like Quantity.Value() / MilliValue()', () => {
  const rows: Array<{ input: string | number; value: bigint; milli: bigint }> = [
    { input: '1', value: 1n, milli: 1000n },
    { input: '0', value: 0n, milli: 0n },
    { input: '250m', value: 1n, milli: 250n },
    { input: '0.3', value: 1n, milli: 300n },
    { input: '1.5', value: 2n, milli: 1500n },
    { input: '100n', value: 1n, milli: 1n },
    { input: '2500u', value: 1n, milli: 3n },
    { input: '128Mi', value: 134217728n, milli: 134217728000n },
    { input: '1Gi', value: 1073741824n, milli: 1073741824000n },
    { input: '1.5Gi', value: 1610612736n, milli: 1610612736000n },
    { input: '1k', value: 1000n, milli: 1000000n },
    { input: '1M', value: 1000000n, milli: 1000000000n },
    { input: '2E', value: 2000000000000000000n, milli: 2000000000000000000000n },
    { input: '1e3', value: 1000n, milli: 1000000n },
    { input: '12E-1', value: 2n, milli: 1200n },
    { input: '+5', value: 5n, milli: 5000n },
    { input: '.5', value: 1n, milli: 500n },
    { input: 4, value: 4n, milli: 4000n },
  ];
  for (const row of rows) {
    const q = parseQuantity(row.input);
    assert.ok(q, `${row.input} parses`);
    assert.equal(quantityValue(q), row.value, `value of ${row.input}`);
    assert.equal(quantityMilliValue(q), row.milli, `milli-value of ${row.input}`);
  }
});

test('parseQuantity: malformed input', () => {
  for (const bad of ['', 'abc', '1.2.3', '5 Mi', 'Mi', '1Ki1', '1mi', '1e', '--1', '.']) assert.equal(parseQuantity(bad), undefined, bad);
});

test('formatMilliCpu and formatBytes, as node capacity shows them', () => {
  const rows: Array<[string, string]> = [
    [formatMilliCpu(4000), '4'],
    [formatMilliCpu(1500), '1500m'],
    [formatBytes(8 * 1024 ** 3), '8388608Ki'],
    [formatBytes(1000), '1000'],
  ];
  for (const [got, want] of rows) assert.equal(got, want);
});
