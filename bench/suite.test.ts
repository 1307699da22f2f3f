// Tests for the suite registry and the teardown stack.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cleanup } from './cleanup.js';
import { createRegistry } from './registry.js';
import { SuiteRegistry, UnknownSuiteError, type Suite } from './suite.js';

const suite = (name: string): Suite => ({ name, description: `the ${name} suite`, run: async () => undefined });

test('SuiteRegistry resolves names in order, once each', () => {
  const registry = new SuiteRegistry();
  registry.register(suite('a'));
  registry.register(suite('b'));
  assert.deepEqual(registry.resolve(['b', 'a', 'b']).map((s) => s.name), ['b', 'a']);
  assert.throws(() => registry.register(suite('a')), /registered twice/);
});

test('SuiteRegistry: an unknown name lists the known suites', () => {
  const registry = new SuiteRegistry();
  registry.register(suite('serving'));
  assert.throws(
    () => registry.resolve(['serving', 'nope']),
    (err: unknown) => err instanceof UnknownSuiteError && /unknown bench suite: nope/.test(err.message) && /serving — the serving suite/.test(err.message),
  );
});

test('the shipped registry has the serving suite', () => {
  assert.ok(createRegistry().names().includes('serving'));
});

test('Cleanup runs tasks newest first, each once, and reports errors without throwing', async () => {
  const order: string[] = [];
  const errors: string[] = [];
  const cleanup = new Cleanup((label) => errors.push(label));
  cleanup.defer('first', () => void order.push('first'));
  const runSecond = cleanup.defer('second', () => void order.push('second'));
  cleanup.defer('broken', () => {
    throw new Error('boom');
  });
  cleanup.defer('third', async () => void order.push('third'));
  await runSecond();
  await runSecond();
  assert.equal(cleanup.pending, 3);
  await cleanup.runAll();
  assert.deepEqual(order, ['second', 'third', 'first']);
  assert.deepEqual(errors, ['broken']);
  assert.equal(cleanup.pending, 0);
});
