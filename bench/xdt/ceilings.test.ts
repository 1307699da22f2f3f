// measureCeilings end to end on loopback, with small sizes so it takes about a second.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { measureCeilings } from './ceilings.js';

/** Pids of this process's children running the ceilings sender (Linux /proc; empty elsewhere). */
function senderChildren(): number[] {
  if (process.platform !== 'linux') return [];
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return ppid === process.pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('ceilings-sender');
      } catch {
        return false;
      }
    })
    .map(Number);
}

test('measureCeilings: every method at every size, one latency per repetition, sender gone afterwards', async () => {
  const messages: string[] = [];
  const sizes = [0, 10 * 1024, 1024 * 1024 + 7];
  const results = await measureCeilings({ host: '127.0.0.1', sizes, repetitions: 3, log: (m) => messages.push(m) });
  assert.deepEqual(
    results.map((r) => `${r.method}/${r.sizeBytes}`),
    sizes.flatMap((s) => [`grpc-js/${s}`, `tcp/${s}`]),
  );
  for (const r of results) {
    assert.equal(r.latenciesMs.length, 3);
    for (const ms of r.latenciesMs) assert.ok(Number.isFinite(ms) && ms >= 0 && ms < 10_000, `${r.method}/${r.sizeBytes}: ${ms} ms`);
  }
  assert.equal(messages.length, sizes.length * 2);
  assert.deepEqual(senderChildren(), [], 'the sender outlived measureCeilings');
});

test('measureCeilings: rejects an empty plan before starting anything', async () => {
  await assert.rejects(measureCeilings({ host: '127.0.0.1', sizes: [], repetitions: 1, log: () => undefined }), /at least one size/);
  await assert.rejects(measureCeilings({ host: '127.0.0.1', sizes: [1], repetitions: 0, log: () => undefined }), /one repetition/);
});
