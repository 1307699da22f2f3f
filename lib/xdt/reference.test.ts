// XDT references: round trip, and every way a token is refused, with its code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSluiceError } from '../errors.js';
import { ReferenceCodec, generateClusterKey, parseClusterKey, type ObjectReference } from './reference.js';

const NOW = 1_800_000_000_000;
const REF: ObjectReference = {
  producer: '127.0.1.7:8013',
  node: 'node-1',
  function: 'producer',
  key: 'obj-42',
  namespace: 'team-a',
  retrievals: 3,
  expiresAtMs: NOW + 60_000,
};

const codec = new ReferenceCodec(generateClusterKey());

function flip(token: string, index: number): string {
  const bytes = Buffer.from(token, 'base64url');
  bytes[index] ^= 0x01;
  return bytes.toString('base64url');
}

test('a minted reference opens to what was sealed, in its namespace, before expiry', () => {
  const token = codec.mint(REF);
  assert.match(token, /^[A-Za-z0-9_-]+$/, 'token is URL-safe');
  assert.deepEqual(codec.open(token, 'team-a', NOW), REF);
});

test('tokens reveal nothing: no address, key or namespace in the bytes, and two mints differ', () => {
  const token = codec.mint(REF);
  const bytes = Buffer.from(token, 'base64url').toString('latin1');
  for (const secret of [REF.producer, REF.key, REF.namespace, REF.node]) assert.ok(!bytes.includes(secret), `${secret} readable in the token`);
  assert.notEqual(codec.mint(REF), token);
});

const refusals: Array<{ name: string; token: () => string; namespace?: string; now?: number; want: string }> = [
  { name: 'another namespace', token: () => codec.mint(REF), namespace: 'team-b', want: 'XDT_REF_FORBIDDEN' },
  { name: 'expired', token: () => codec.mint(REF), now: REF.expiresAtMs + 1, want: 'XDT_REF_EXPIRED' },
  { name: 'tampered ciphertext', token: () => flip(codec.mint(REF), 20), want: 'XDT_REF_INVALID' },
  { name: 'tampered tag', token: () => flip(codec.mint(REF), Buffer.from(codec.mint(REF), 'base64url').length - 1), want: 'XDT_REF_INVALID' },
  { name: 'tampered version', token: () => flip(codec.mint(REF), 0), want: 'XDT_REF_INVALID' },
  { name: "another cluster's key", token: () => new ReferenceCodec(generateClusterKey()).mint(REF), want: 'XDT_REF_INVALID' },
  { name: 'not base64url', token: () => 'abc$%', want: 'XDT_REF_INVALID' },
  { name: 'too short', token: () => 'AQID', want: 'XDT_REF_INVALID' },
  { name: 'empty', token: () => '', want: 'XDT_REF_INVALID' },
];

for (const row of refusals) {
  test(`a reference is refused: ${row.name} → ${row.want}`, () => {
    assert.throws(
      () => codec.open(row.token(), row.namespace ?? 'team-a', row.now ?? NOW),
      (err: unknown) => isSluiceError(err) && err.code === row.want,
    );
  });
}

test('cluster keys parse from base64url and must be 32 bytes', () => {
  const key = generateClusterKey();
  assert.deepEqual(parseClusterKey(key.toString('base64url')), key);
  assert.throws(() => parseClusterKey('c2hvcnQ'), /must be 32 bytes in base64, got 5 bytes/);
});
