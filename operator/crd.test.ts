import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { functionCrd } from './crd.js';
import { CRD_FILE, renderCrdYaml } from './crd-file.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

type Schema = Record<string, unknown> & { properties?: Record<string, Schema>; items?: Schema };

function walk(schema: Schema, visit: (s: Schema, at: string) => void, at = ''): void {
  visit(schema, at);
  for (const [name, sub] of Object.entries(schema.properties ?? {})) walk(sub, visit, `${at}.${name}`);
  if (schema.items) walk(schema.items, visit, `${at}[]`);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const version = (functionCrd() as any).spec.versions[0];
const spec: Schema = version.schema.openAPIV3Schema.properties.spec;

test('the chart carries the CRD generated from the Function schema (run `npm run gen:crd` when this fails)', () => {
  assert.equal(readFileSync(path.join(repoRoot, CRD_FILE), 'utf8'), renderCrdYaml());
});

test('the CRD schema is structural: typed everywhere, no additionalProperties beside properties, OpenAPI 3.0 exclusiveMinimum', () => {
  walk(spec, (s, at) => {
    assert.ok(typeof s.type === 'string', `${at} has a type`);
    assert.ok(!(s.properties && 'additionalProperties' in s), `${at}: additionalProperties beside properties`);
    if ('exclusiveMinimum' in s) assert.equal(s.exclusiveMinimum, true, at);
    if (s.type === 'string' && !s.enum) assert.ok(typeof s.maxLength === 'number', `${at} bounded for CEL`);
  });
});

test('the CRD defaults what FUNCTION_DEFAULTS defaults and checks the semantic rules in CEL', () => {
  const cases: Array<[string, unknown]> = [
    ['container.port', 8080],
    ['containerConcurrency', 0],
    ['timeoutSeconds', 300],
  ];
  for (const [at, want] of cases) {
    let node: Schema = spec;
    for (const part of at.split('.')) node = node.properties![part];
    assert.equal(node.default, want, at);
  }
  const rules = JSON.stringify(spec.properties!.scaling['x-kubernetes-validations']);
  assert.match(rules, /minScale <= self.maxScale/);
  assert.match(rules, /duration\(self.stableWindow\) >= duration\('6s'\)/);
  assert.match(JSON.stringify(spec.properties!.container['x-kubernetes-validations']), /has\(self.image\) \|\| has\(self.command\)/);
});

test('the CRD has a status subresource, printer columns and a short name', () => {
  assert.deepEqual(version.subresources, { status: {} });
  assert.deepEqual(
    version.additionalPrinterColumns.filter((c: { priority?: number }) => !c.priority).map((c: { name: string }) => c.name),
    ['Ready', 'URL', 'Replicas', 'Age'],
  );
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  assert.deepEqual((functionCrd() as any).spec.names.shortNames, ['fn']);
});
