// Tests for reading CPU time from /proc/<pid>/stat and from Prometheus text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProcStatTicks, parsePromSample, processCpuMs } from './proc-cpu.js';

test('parseProcStatTicks: utime + stime, whatever the command name contains', () => {
  const rest = 'S 1 2 3 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 11 0 12345 1000 200 18446744073709551615';
  const rows: Array<{ name: string; input: string; want: number }> = [
    { name: 'plain name', input: `4242 (node) ${rest}`, want: 287 },
    { name: 'name with spaces and parentheses', input: `4242 (my (odd) proc) ${rest}`, want: 287 },
  ];
  for (const row of rows) {
    const got = parseProcStatTicks(row.input);
    assert.equal(got, row.want, `${row.name}: want ${row.want}, got ${got}`);
  }
  assert.throws(() => parseProcStatTicks('garbage'), /not a \/proc/);
});

test('parsePromSample: the unlabelled sample of exactly that name', () => {
  const text = [
    '# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.',
    '# TYPE process_cpu_seconds_total counter',
    'process_cpu_seconds_total_extra 9',
    'process_cpu_seconds_total 1.234567',
    'process_cpu_user_seconds_total 1',
  ].join('\n');
  assert.equal(parsePromSample(text, 'process_cpu_seconds_total'), 1.234567);
  assert.equal(parsePromSample(text, 'missing_total'), undefined);
});

test('processCpuMs reads this process', { skip: process.platform !== 'linux' }, () => {
  const ms = processCpuMs(process.pid);
  assert.ok(Number.isFinite(ms) && ms >= 0, `got ${ms}`);
});
