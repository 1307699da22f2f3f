// Every error code a component can return is documented in README.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES, SluiceError } from './errors.js';

test('every error code is documented in the README errors table with its HTTP status', () => {
  const readme = readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../README.md'), 'utf8');
  for (const [code, status] of Object.entries(ERROR_CODES)) {
    assert.match(readme, new RegExp(`\\| \`${code}\` \\| ${status}\\b`), `${code} (${status}) is not in the README errors table`);
  }
});

test('SluiceError serializes as {code, message} and carries its status', () => {
  const err = new SluiceError('QUEUE_FULL', 'queue of default/x is full', { retryAfterSeconds: 1 });
  assert.equal(err.status, 503);
  assert.deepEqual(JSON.parse(JSON.stringify(err)), { code: 'QUEUE_FULL', message: 'queue of default/x is full' });
});
