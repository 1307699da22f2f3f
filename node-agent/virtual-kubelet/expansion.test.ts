import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expand, mappingFor } from './expansion.js';

// The cases of kubelet's own table (third_party/forked/golang/expansion/expand_test.go), run with one and with two sources.
const CASES: Array<{ name: string; input: string; want: string }> = [
  { name: 'whole string', input: '$(VAR_A)', want: 'A' },
  { name: 'repeat', input: '$(VAR_A)-$(VAR_A)', want: 'A-A' },
  { name: 'beginning', input: '$(VAR_A)-1', want: 'A-1' },
  { name: 'middle', input: '___$(VAR_B)___', want: '___B___' },
  { name: 'end', input: '___$(VAR_C)', want: '___C' },
  { name: 'compound', input: '$(VAR_A)_$(VAR_B)_$(VAR_C)', want: 'A_B_C' },
  { name: 'escape & expand', input: '$$(VAR_B)_$(VAR_A)', want: '$(VAR_B)_A' },
  { name: 'compound escape', input: '$$(VAR_A)_$$(VAR_B)', want: '$(VAR_A)_$(VAR_B)' },
  { name: 'mixed in escapes', input: 'f000-$$VAR_A', want: 'f000-$VAR_A' },
  { name: 'backslash escape ignored', input: 'foo\\$(VAR_C)bar', want: 'foo\\Cbar' },
  { name: 'double backslash', input: 'foo\\\\$(VAR_C)bar', want: 'foo\\\\Cbar' },
  { name: 'nested var references', input: '$(VAR_A$(VAR_B))', want: '$(VAR_A$(VAR_B))' },
  { name: 'nested var references second type', input: '$(VAR_A$(VAR_B)', want: '$(VAR_A$(VAR_B)' },
  { name: 'value is a reference (not expanded again)', input: '$(VAR_REF)', want: '$(VAR_A)' },
  { name: 'value is a reference x 2', input: '%%$(VAR_REF)--$(VAR_REF)%%', want: '%%$(VAR_A)--$(VAR_A)%%' },
  { name: 'empty var', input: 'foo$(VAR_EMPTY)bar', want: 'foobar' },
  { name: 'unterminated expression', input: 'foo$(VAR_Awhoops!', want: 'foo$(VAR_Awhoops!' },
  { name: 'expression without operator', input: 'f00__(VAR_A)__', want: 'f00__(VAR_A)__' },
  { name: 'shell special vars pass through', input: '$?_boo_$!', want: '$?_boo_$!' },
  { name: 'bare operators are ignored', input: '$VAR_A', want: '$VAR_A' },
  { name: 'undefined vars are passed through', input: '$(VAR_DNE)', want: '$(VAR_DNE)' },
  { name: 'multiple (even) operators, var undefined', input: '$$$$$$(BIG_MONEY)', want: '$$$(BIG_MONEY)' },
  { name: 'multiple (even) operators, var defined', input: '$$$$$$(VAR_A)', want: '$$$(VAR_A)' },
  { name: 'multiple (odd) operators, var undefined', input: '$$$$$$$(GOOD_ODDS)', want: '$$$$(GOOD_ODDS)' },
  { name: 'multiple (odd) operators, var defined', input: '$$$$$$$(VAR_A)', want: '$$$A' },
  { name: 'missing open expression', input: '$VAR_A)', want: '$VAR_A)' },
  { name: 'shell syntax ignored', input: '${VAR_A}', want: '${VAR_A}' },
  { name: 'trailing incomplete expression not consumed', input: '$(VAR_B)_______$(A', want: 'B_______$(A' },
  { name: 'trailing incomplete expression, no content', input: '$(VAR_C)_______$(', want: 'C_______$(' },
  { name: 'operator at end of input string is preserved', input: '$(VAR_A)foobarzab$', want: 'Afoobarzab$' },
  { name: 'shell escaped incomplete expr', input: 'foo-\\$(VAR_A', want: 'foo-\\$(VAR_A' },
  { name: 'lots of $( in middle', input: '--$($($($($--', want: '--$($($($($--' },
  { name: 'lots of $( in beginning', input: '$($($($($--foo$(', want: '$($($($($--foo$(' },
  { name: 'lots of $( at end', input: 'foo0--$($($($(', want: 'foo0--$($($($(' },
  { name: 'escaped operators in variable names are not escaped', input: '$(foo$$var)', want: '$(foo$$var)' },
  { name: 'newline not expanded', input: '\n', want: '\n' },
  { name: 'dollar sign followed by non-ASCII', input: '$£FOO', want: '$£FOO' },
  { name: 'dollar sign followed by a multi-byte character in the middle', input: 'prefix-$€-suffix', want: 'prefix-$€-suffix' },
  { name: 'dollar sign followed by an astral character', input: '$😀x$(VAR_A)', want: '$😀xA' },
];

test('expand: one source', () => {
  const mapping = mappingFor({ VAR_A: 'A', VAR_B: 'B', VAR_C: 'C', VAR_REF: '$(VAR_A)', VAR_EMPTY: '' });
  for (const { name, input, want } of CASES) assert.equal(expand(input, mapping), want, name);
});

test('expand: two sources (a Map first, then a record)', () => {
  const mapping = mappingFor(new Map([['VAR_A', 'A'], ['VAR_EMPTY', '']]), { VAR_B: 'B', VAR_C: 'C', VAR_REF: '$(VAR_A)' });
  for (const { name, input, want } of CASES) assert.equal(expand(input, mapping), want, name);
});

test('mappingFor: the first source that has the name wins, even with an empty value', () => {
  const rows: Array<{ name: string; sources: Array<Record<string, string>>; key: string; want: string | undefined }> = [
    { name: 'first source', sources: [{ X: '1' }, { X: '2' }], key: 'X', want: '1' },
    { name: 'empty value still wins', sources: [{ X: '' }, { X: '2' }], key: 'X', want: '' },
    { name: 'falls through', sources: [{}, { X: '2' }], key: 'X', want: '2' },
    { name: 'unknown', sources: [{}, {}], key: 'X', want: undefined },
    { name: 'prototype names are not variables', sources: [{}], key: 'toString', want: undefined },
  ];
  for (const row of rows) assert.equal(mappingFor(...row.sources)(row.key), row.want, row.name);
});
