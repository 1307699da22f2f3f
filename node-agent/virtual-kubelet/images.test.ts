import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandLine, lookupImage, normalizeImage, parseImageMap, unknownImageMessage } from './images.js';

test('normalizeImage: registry host, tag and digest dropped', () => {
  const rows: Array<[string, string]> = [
    ['sluice/activator', 'sluice/activator'],
    ['sluice/activator:0.1.0', 'sluice/activator'],
    ['ghcr.io/sluice/activator:0.1.0', 'sluice/activator'],
    ['localhost:5000/sluice/queue-proxy:dev', 'sluice/queue-proxy'],
    ['localhost/sluice/operator', 'sluice/operator'],
    ['registry:5000/sluice/node-agent@sha256:0123abcd', 'sluice/node-agent'],
    ['sluice/example-hello:0.1.0@sha256:0123abcd', 'sluice/example-hello'],
    ['docker.io/library/nginx:1.27', 'nginx'],
    ['nginx', 'nginx'],
    ['acme/team/sluice/activator:1', 'acme/team/sluice/activator'],
  ];
  for (const [image, want] of rows) assert.equal(normalizeImage(image), want, image);
});

test('lookupImage: the built-in mapping and config entries', () => {
  const extra = { 'sluice/test-env-server': { entrypoint: ['node', 'testdata/env-server.mjs'] }, 'sluice/activator': { entrypoint: ['node', 'custom.js'] } };
  const rows: Array<{ image: string; extra?: typeof extra; want: string[] | undefined }> = [
    { image: 'sluice/activator:0.1.0', want: ['node', 'dist/activator/main.js'] },
    { image: 'sluice/autoscaler', want: ['node', 'dist/autoscaler/main.js'] },
    { image: 'sluice/scheduler', want: ['node', 'dist/scheduler/main.js'] },
    { image: 'sluice/operator', want: ['node', 'dist/operator/main.js'] },
    { image: 'sluice/node-agent', want: ['node', 'dist/node-agent/main.js'] },
    { image: 'ghcr.io/x/sluice/queue-proxy', want: undefined },
    { image: 'localhost:5000/sluice/queue-proxy:0.1.0', want: ['node', 'dist/queue-proxy/main.js'] },
    { image: 'sluice/example-hello:0.1.0', want: ['node', 'dist/examples/hello/main.js'] },
    { image: 'sluice/example-xdt', want: ['node', 'dist/examples/xdt/main.js'] },
    { image: 'sluice/example-', want: undefined },
    { image: 'sluice/unknown', want: undefined },
    { image: 'nginx:1.27', want: undefined },
    { image: 'registry.test/sluice/test-env-server:1', extra, want: ['node', 'testdata/env-server.mjs'] },
    { image: 'sluice/activator', extra, want: ['node', 'custom.js'] },
  ];
  for (const row of rows) assert.deepEqual(lookupImage(row.image, row.extra)?.entrypoint, row.want, row.image);
  assert.match(unknownImageMessage('nginx:1.27'), /no local command for image "nginx:1.27" \(normalised "nginx"\); known images: sluice\/\{activator,/);
});

test('commandLine: command replaces the entrypoint (and its args), args replace the default args, $(VAR) expands', () => {
  const image = { entrypoint: ['node', 'dist/activator/main.js'], args: ['--default'] };
  const env = new Map([['PORT', '8080'], ['POD_IP', '10.244.1.2']]);
  const rows: Array<{ name: string; container: { command?: string[]; args?: string[] }; want: { command: string; args: string[] } | { error: string } }> = [
    { name: 'image defaults', container: {}, want: { command: '/bin/node', args: ['dist/activator/main.js', '--default'] } },
    { name: 'args only', container: { args: ['--port=$(PORT)'] }, want: { command: '/bin/node', args: ['dist/activator/main.js', '--port=8080'] } },
    { name: 'command only drops the default args', container: { command: ['sh', '-c', 'echo $(POD_IP)'] }, want: { command: 'sh', args: ['-c', 'echo 10.244.1.2'] } },
    { name: 'command and args', container: { command: ['node', 'x.js'], args: ['$(UNKNOWN)', '$$(PORT)'] }, want: { command: '/bin/node', args: ['x.js', '$(UNKNOWN)', '$(PORT)'] } },
    { name: 'empty lists count as unset', container: { command: [], args: [] }, want: { command: '/bin/node', args: ['dist/activator/main.js', '--default'] } },
  ];
  for (const row of rows) assert.deepEqual(commandLine(image, row.container, env, '/bin/node'), row.want, row.name);
  assert.ok('error' in commandLine({ entrypoint: [] }, {}, env, '/bin/node'));
});

test('parseImageMap: arrays or objects, names normalised, bad input rejected', () => {
  assert.deepEqual(parseImageMap(''), {});
  assert.deepEqual(parseImageMap('{"reg.io/sluice/fixture:1": ["node", "f.mjs"], "x": {"entrypoint": ["sh"], "args": ["-c", "true"], "env": {"A": "1"}}}'), {
    'sluice/fixture': { entrypoint: ['node', 'f.mjs'] },
    x: { entrypoint: ['sh'], args: ['-c', 'true'], env: { A: '1' } },
  });
  for (const bad of ['[]', '{"x": 1}', '{"x": {"entrypoint": "sh"}}', '{"x": {"entrypoint": ["sh"], "env": {"A": 1}}}', 'not json']) {
    assert.throws(() => parseImageMap(bad), Error, bad);
  }
});
