import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldRefValue, formatMap, referencedObjects, resolveEnv, resourceFieldRefValue } from './env.js';
import type { EnvInputs } from './env.js';
import type { ConfigMap, Container, Pod, Secret, Service } from './types.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

const POD: Pod = {
  metadata: { name: 'web-1', namespace: 'ns', uid: 'uid-1', labels: { app: 'web', 'sluice.dev/function': 'hello' }, annotations: { note: 'a "quoted" one' } },
  spec: {
    nodeName: 'node-1',
    serviceAccountName: 'runner',
    containers: [
      { name: 'server', resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '250m', memory: '64Mi' } } },
      { name: 'sidecar', resources: { requests: { cpu: '100m' } } },
    ],
    initContainers: [{ name: 'init', resources: { limits: { cpu: '2' } } }],
  },
};

const SERVICES: Service[] = [
  { metadata: { namespace: 'default', name: 'kubernetes' }, spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443 }] } },
  { metadata: { namespace: 'ns', name: 'sluice-activator' }, spec: { clusterIP: '10.96.0.30', ports: [{ name: 'http', port: 80 }, { name: 'admin', port: 9090 }] } },
];

const CONFIG_MAPS = new Map<string, ConfigMap | null>([
  ['defaults', { metadata: { name: 'defaults' }, data: { STABLE_WINDOW: '60s', PANIC: '6s', HOST: 'from-configmap' } }],
  ['missing', null],
]);
const SECRETS = new Map<string, Secret | null>([
  ['xdt', { metadata: { name: 'xdt' }, data: { key: b64('k3y'), other: b64('o') } }],
  ['gone', null],
]);

function inputs(container: Container, over: Partial<EnvInputs> = {}): EnvInputs {
  return {
    pod: POD,
    container,
    podIPs: ['10.244.1.7'],
    hostIPs: ['10.244.1.1'],
    services: SERVICES,
    configMaps: CONFIG_MAPS,
    secrets: SECRETS,
    nodeAllocatable: { cpu: '4', memory: '8Gi', 'ephemeral-storage': '100Gi' },
    ...over,
  };
}

test('resolveEnv: kubelet semantics, table', () => {
  const rows: Array<{ name: string; container: Container; over?: Partial<EnvInputs>; want?: Record<string, string>; absent?: string[]; error?: RegExp }> = [
    {
      name: 'downward API, $(VAR) over earlier env and Service variables, escapes, unknown refs kept',
      container: {
        name: 'server',
        env: [
          { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: 'SLUICE_ACTIVATOR_HOST', value: '$(POD_IP)' },
          { name: 'URL', value: 'http://$(SLUICE_ACTIVATOR_SERVICE_HOST):$(SLUICE_ACTIVATOR_SERVICE_PORT_HTTP)' },
          { name: 'LATER_REF', value: '$(DEFINED_LATER)' },
          { name: 'DEFINED_LATER', value: 'x' },
          { name: 'ESCAPED', value: '$$(POD_IP)' },
          { name: 'EMPTY', value: '' },
        ],
      },
      want: {
        POD_IP: '10.244.1.7',
        SLUICE_ACTIVATOR_HOST: '10.244.1.7',
        URL: 'http://10.96.0.30:80',
        LATER_REF: '$(DEFINED_LATER)',
        DEFINED_LATER: 'x',
        ESCAPED: '$(POD_IP)',
        EMPTY: '',
        KUBERNETES_SERVICE_HOST: '10.96.0.1',
        KUBERNETES_SERVICE_PORT_HTTPS: '443',
      },
    },
    {
      name: 'envFrom with prefix, later sources win, env overrides envFrom, refs see envFrom',
      container: {
        name: 'server',
        envFrom: [{ prefix: 'SLUICE_AUTOSCALER_', configMapRef: { name: 'defaults' } }, { secretRef: { name: 'xdt' } }, { configMapRef: { name: 'defaults' } }],
        env: [
          { name: 'PANIC', value: 'overridden' },
          { name: 'WINDOW', value: '$(SLUICE_AUTOSCALER_STABLE_WINDOW)' },
        ],
      },
      want: {
        SLUICE_AUTOSCALER_STABLE_WINDOW: '60s',
        SLUICE_AUTOSCALER_PANIC: '6s',
        SLUICE_AUTOSCALER_HOST: 'from-configmap',
        key: 'k3y',
        other: 'o',
        STABLE_WINDOW: '60s',
        PANIC: 'overridden',
        HOST: 'from-configmap',
        WINDOW: '60s',
      },
    },
    {
      name: 'configMapKeyRef / secretKeyRef, optional missing objects and keys leave the variable out',
      container: {
        name: 'server',
        env: [
          { name: 'WINDOW', valueFrom: { configMapKeyRef: { name: 'defaults', key: 'STABLE_WINDOW' } } },
          { name: 'XDT_KEY', valueFrom: { secretKeyRef: { name: 'xdt', key: 'key' } } },
          { name: 'NO_CM', valueFrom: { configMapKeyRef: { name: 'missing', key: 'k', optional: true } } },
          { name: 'NO_KEY', valueFrom: { configMapKeyRef: { name: 'defaults', key: 'nope', optional: true } } },
          { name: 'NO_SECRET', valueFrom: { secretKeyRef: { name: 'gone', key: 'k', optional: true } } },
          { name: 'NO_SECRET_KEY', valueFrom: { secretKeyRef: { name: 'xdt', key: 'nope', optional: true } } },
        ],
        envFrom: [{ configMapRef: { name: 'missing', optional: true } }, { secretRef: { name: 'gone', optional: true } }],
      },
      want: { WINDOW: '60s', XDT_KEY: 'k3y' },
      absent: ['NO_CM', 'NO_KEY', 'NO_SECRET', 'NO_SECRET_KEY'],
    },
    {
      name: 'a variable named like a Service variable replaces it',
      container: { name: 'server', env: [{ name: 'KUBERNETES_SERVICE_HOST', value: 'mine' }] },
      want: { KUBERNETES_SERVICE_HOST: 'mine', KUBERNETES_SERVICE_PORT: '443' },
    },
    {
      name: 'enableServiceLinks false: only the kubernetes Service',
      container: { name: 'server' },
      over: { pod: { ...POD, spec: { ...POD.spec, enableServiceLinks: false } } },
      want: { KUBERNETES_SERVICE_HOST: '10.96.0.1' },
      absent: ['SLUICE_ACTIVATOR_SERVICE_HOST'],
    },
    { name: 'required ConfigMap missing', container: { name: 'server', envFrom: [{ configMapRef: { name: 'missing' } }] }, error: /^configmap "missing" not found$/ },
    { name: 'required Secret missing', container: { name: 'server', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'gone', key: 'k' } } }] }, error: /^secret "gone" not found$/ },
    {
      name: 'required key missing',
      container: { name: 'server', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'defaults', key: 'nope' } } }] },
      error: /^couldn't find key nope in ConfigMap ns\/defaults$/,
    },
    {
      name: 'required secret key missing',
      container: { name: 'server', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'xdt', key: 'nope' } } }] },
      error: /^couldn't find key nope in Secret ns\/xdt$/,
    },
    { name: 'unsupported fieldPath', container: { name: 'server', env: [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'spec.schedulerName' } } }] }, error: /^unsupported fieldPath: spec.schedulerName$/ },
    { name: 'fileKeyRef', container: { name: 'server', env: [{ name: 'X', valueFrom: { fileKeyRef: {} } }] }, error: /fileKeyRef is not supported/ },
  ];
  for (const row of rows) {
    const result = resolveEnv(inputs(row.container, row.over));
    if (row.error) {
      assert.equal(result.ok, false, row.name);
      if (!result.ok) assert.match(result.error, row.error, row.name);
      continue;
    }
    assert.ok(result.ok, `${row.name}: ${result.ok ? '' : result.error}`);
    if (!result.ok) continue;
    for (const [k, v] of Object.entries(row.want ?? {})) assert.equal(result.env.get(k), v, `${row.name}: ${k}`);
    for (const k of row.absent ?? []) assert.equal(result.env.has(k), false, `${row.name}: ${k} absent`);
  }
});

test('fieldRefValue: every path kubelet supports', () => {
  const rows: Array<[string, string]> = [
    ['metadata.name', 'web-1'],
    ['metadata.namespace', 'ns'],
    ['metadata.uid', 'uid-1'],
    ["metadata.labels['app']", 'web'],
    ["metadata.labels['sluice.dev/function']", 'hello'],
    ["metadata.labels['absent']", ''],
    ["metadata.annotations['note']", 'a "quoted" one'],
    ['metadata.labels', 'app="web"\nsluice.dev/function="hello"'],
    ['metadata.annotations', 'note="a \\"quoted\\" one"'],
    ['spec.nodeName', 'node-1'],
    ['spec.host', 'node-1'],
    ['spec.serviceAccountName', 'runner'],
    ['status.podIP', '10.244.1.7'],
    ['status.podIPs', '10.244.1.7,fd00::7'],
    ['status.hostIP', '10.244.1.1'],
    ['status.hostIPs', '10.244.1.1'],
  ];
  for (const [path, want] of rows) assert.equal(fieldRefValue(POD, 'v1', path, ['10.244.1.7', 'fd00::7'], ['10.244.1.1']), want, path);
  assert.throws(() => fieldRefValue(POD, 'v2', 'metadata.name', [], []), /unsupported pod version: v2/);
  assert.throws(() => fieldRefValue(POD, 'v1', "spec.nodeName['x']", [], []), /does not support subscript/);
  assert.equal(formatMap(undefined), '');
});

test('resourceFieldRefValue: ceil(value / divisor), unset limits default to the node allocatable', () => {
  const [server, sidecar] = POD.spec.containers;
  const allocatable = { cpu: '4', memory: '8Gi', 'ephemeral-storage': '100Gi' };
  const rows: Array<{ name: string; container: Container; ref: { resource: string; divisor?: string; containerName?: string }; want: string }> = [
    { name: 'limits.cpu in cores rounds up', container: server, ref: { resource: 'limits.cpu' }, want: '1' },
    { name: 'limits.cpu in millicores', container: server, ref: { resource: 'limits.cpu', divisor: '1m' }, want: '500' },
    { name: 'requests.cpu in millicores', container: server, ref: { resource: 'requests.cpu', divisor: '1m' }, want: '250' },
    { name: 'limits.memory in bytes', container: server, ref: { resource: 'limits.memory' }, want: String(128 * 2 ** 20) },
    { name: 'requests.memory in Mi', container: server, ref: { resource: 'requests.memory', divisor: '1Mi' }, want: '64' },
    { name: 'a "0" divisor means 1', container: server, ref: { resource: 'requests.memory', divisor: '0' }, want: String(64 * 2 ** 20) },
    { name: 'unset limits.cpu = allocatable', container: sidecar, ref: { resource: 'limits.cpu', divisor: '1m' }, want: '4000' },
    { name: 'unset limits.memory = allocatable', container: sidecar, ref: { resource: 'limits.memory', divisor: '1Gi' }, want: '8' },
    { name: 'unset requests = 0', container: sidecar, ref: { resource: 'requests.memory' }, want: '0' },
    { name: 'ephemeral-storage limit = allocatable', container: sidecar, ref: { resource: 'limits.ephemeral-storage', divisor: '1Gi' }, want: '100' },
    { name: 'another container by name', container: sidecar, ref: { resource: 'limits.cpu', divisor: '1m', containerName: 'server' }, want: '500' },
    { name: "an init container's limit by name is not defaulted", container: server, ref: { resource: 'limits.memory', containerName: 'init' }, want: '0' },
    { name: "an init container's set limit", container: server, ref: { resource: 'limits.cpu', divisor: '1m', containerName: 'init' }, want: '2000' },
  ];
  for (const row of rows) assert.equal(resourceFieldRefValue(POD, row.container, row.ref, allocatable), row.want, row.name);
  assert.throws(() => resourceFieldRefValue(POD, server, { resource: 'limits.gpu' }, allocatable), /unsupported container resource : limits.gpu/);
  assert.throws(() => resourceFieldRefValue(POD, server, { resource: 'limits.cpu', containerName: 'nope' }, allocatable), /container nope not found/);
});

test('referencedObjects: what to fetch before resolving', () => {
  const got = referencedObjects({
    name: 'c',
    envFrom: [{ configMapRef: { name: 'a' } }, { secretRef: { name: 's1' } }],
    env: [
      { name: 'X', valueFrom: { configMapKeyRef: { name: 'b', key: 'k' } } },
      { name: 'Y', valueFrom: { secretKeyRef: { name: 's2', key: 'k' } } },
      { name: 'Z', value: 'literal', valueFrom: { configMapKeyRef: { name: 'ignored', key: 'k' } } },
    ],
  });
  assert.deepEqual([...got.configMaps].sort(), ['a', 'b']);
  assert.deepEqual([...got.secrets].sort(), ['s1', 's2']);
});
