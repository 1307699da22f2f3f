import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { parseConfigLine, readConfigLine } from './stdin-config.js';

test('parseConfigLine', () => {
  const rows: Array<{ name: string; input: string; want: object | RegExp }> = [
    { name: 'object of scalars', input: '{"function":"f","admin-port":8022,"x":true}', want: { function: 'f', 'admin-port': 8022, x: true } },
    { name: 'not JSON', input: 'function=f', want: /is not JSON/ },
    { name: 'array', input: '["f"]', want: /must be a JSON object/ },
    { name: 'null', input: 'null', want: /must be a JSON object/ },
    { name: 'nested value', input: '{"timeout":{"s":1}}', want: /timeout = \{"s":1\}, must be a string, number or boolean/ },
  ];
  for (const row of rows) {
    if (row.want instanceof RegExp) assert.throws(() => parseConfigLine(row.input), row.want, row.name);
    else assert.deepEqual(parseConfigLine(row.input), row.want, row.name);
  }
});

test('readConfigLine: the first line, a last line without newline, or undefined at an empty end', async () => {
  const rows: Array<{ name: string; chunks: string[]; want: string | undefined }> = [
    { name: 'line in pieces', chunks: ['{"a"', ':1}\n', 'ignored'], want: '{"a":1}' },
    { name: 'no newline before end', chunks: ['{"a":1}'], want: '{"a":1}' },
    { name: 'empty', chunks: [], want: undefined },
    { name: 'blank', chunks: [' \n'], want: ' ' },
  ];
  for (const row of rows) {
    const input = new PassThrough();
    const line = readConfigLine(input);
    for (const chunk of row.chunks) input.write(chunk);
    input.end();
    assert.equal(await line, row.want, row.name);
  }
});
