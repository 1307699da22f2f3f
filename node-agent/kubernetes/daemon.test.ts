import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { instancesByFunction } from './daemon.js';

function pod(ns: string, fn: string | undefined, phase: string): V1Pod {
  return { metadata: { namespace: ns, name: 'p', labels: fn ? { 'sluice.dev/function': fn } : {} }, status: { phase } };
}

test('instancesByFunction counts unfinished instances per function', () => {
  const got = instancesByFunction([pod('a', 'hello', 'Running'), pod('a', 'hello', 'Pending'), pod('b', 'hello', 'Running'), pod('a', 'hello', 'Succeeded'), pod('a', undefined, 'Running'), pod('a', 'echo', 'Failed')]);
  assert.deepEqual([...got], [['a/hello', 2], ['b/hello', 1]]);
});
