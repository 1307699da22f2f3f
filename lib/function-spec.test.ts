// Table tests for the Function schema: valid definitions get defaults, invalid ones name the file and the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { parseFunctionsYaml, FunctionSpecError, instanceRequests } from './function-spec.js';

const base = (spec: string, meta = 'name: hello'): string =>
  `apiVersion: sluice.dev/v1alpha1\nkind: Function\nmetadata:\n  ${meta}\nspec:\n${spec}`;

test('a minimal Function gets the defaults', () => {
  const [def] = parseFunctionsYaml(base('  container:\n    command: [node, hello.js]\n'), 'f.yaml');
  assert.equal(def.metadata.namespace, 'default');
  assert.equal(def.spec.container.port, 8080);
  assert.equal(def.spec.containerConcurrency, 0);
  assert.equal(def.spec.timeoutSeconds, 300);
  assert.deepEqual(instanceRequests(def), { milliCpu: 100, memoryBytes: 128 * 2 ** 20 });
});

const invalid: Array<{ name: string; yaml: string; want: RegExp[] }> = [
  { name: 'negative concurrency', yaml: base('  container:\n    command: [x]\n  containerConcurrency: -1\n'), want: [/f\.yaml/, /spec\.containerConcurrency: must be >= 0/] },
  { name: 'unknown field', yaml: base('  container:\n    command: [x]\n  replicas: 3\n'), want: [/spec\.replicas: is not a known field/] },
  { name: 'missing container', yaml: base('  containerConcurrency: 1\n'), want: [/spec\.container: is required/] },
  { name: 'bad name', yaml: base('  container:\n    command: [x]\n', 'name: Hello_World'), want: [/metadata\.name: must be a DNS label/, /Function "Hello_World"/] },
  { name: 'wrong kind', yaml: base('  container:\n    command: [x]\n').replace('kind: Function', 'kind: Service'), want: [/kind: must be one of Function/] },
  { name: 'bad duration', yaml: base('  container:\n    command: [x]\n  scaling:\n    stableWindow: soon\n'), want: [/spec\.scaling\.stableWindow/] },
  { name: 'stable window too short', yaml: base('  container:\n    command: [x]\n  scaling:\n    stableWindow: 1s\n'), want: [/spec\.scaling\.stableWindow: 1s must be a duration in \[6s; 3600s\]/] },
  { name: 'min above max', yaml: base('  container:\n    command: [x]\n  scaling:\n    minScale: 3\n    maxScale: 2\n'), want: [/spec\.scaling\.minScale: 3 must not exceed spec\.scaling\.maxScale \(2\)/] },
  { name: 'bad cpu', yaml: base('  container:\n    command: [x]\n    resources:\n      cpu: lots\n'), want: [/spec\.container\.resources\.cpu: "lots" is not a CPU quantity/] },
  { name: 'nothing to run', yaml: base('  container:\n    port: 8080\n'), want: [/spec\.container: needs an image \(Kubernetes\) or a command/] },
  { name: 'yaml syntax', yaml: 'apiVersion: [\n', want: [/f\.yaml: YAML error in document 1/] },
  { name: 'empty file', yaml: '# nothing\n', want: [/f\.yaml: no Function definitions found/] },
  {
    name: 'duplicate',
    yaml: `${base('  container:\n    command: [x]\n')}---\n${base('  container:\n    command: [y]\n')}`,
    want: [/document 2/, /duplicate Function default\/hello/],
  },
];

for (const row of invalid) {
  test(`invalid Function is rejected: ${row.name}`, () => {
    assert.throws(
      () => parseFunctionsYaml(row.yaml, 'f.yaml'),
      (err: unknown) => {
        assert.ok(err instanceof FunctionSpecError, `want FunctionSpecError, got ${String(err)}`);
        for (const re of row.want) assert.match(err.message, re);
        return true;
      },
    );
  });
}

test('examples/functions.yaml is valid and deploys hello, echo, sleep, cpu and the XDT pair', () => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const file = path.join(root, 'examples/functions.yaml');
  const defs = parseFunctionsYaml(readFileSync(file, 'utf8'), file);
  assert.deepEqual(defs.map((d) => d.metadata.name).sort(), ['cpu', 'echo', 'hello', 'sleep', 'xdt-consumer', 'xdt-producer']);
});
