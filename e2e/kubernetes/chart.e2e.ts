// The Helm chart (charts/sluice) checked with the real helm binary: lint, the properties of what `helm template`
// renders (security, RBAC, env, images, the XDT key, the autoscaler defaults, monitoring), the settings as each
// component's own config loader reads them after kubelet-style env resolution, and a real install + upgrade.
// Named *.e2e.ts so `npm test` (which runs *.test.js) leaves it to `npm run e2e`: it needs the helm that
// e2e/control-plane/build-tools.sh builds (SLUICE_E2E_BIN, or the default cache directory).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { loadConfig as loadActivatorConfig } from '../../activator/config.js';
import { defaultConfig as autoscalerDefaults, loadConfig as loadAutoscalerConfig } from '../../autoscaler/config.js';
import { rawConfigFromEnv, type RawConfig } from '../../lib/config.js';
import { parseClusterKey } from '../../lib/xdt/reference.js';
import { loadConfig as loadNodeAgentConfig } from '../../node-agent/config.js';
import { loadDaemonConfig } from '../../node-agent/kubernetes/config.js';
import { resolveEnv } from '../../node-agent/virtual-kubelet/env.js';
import type { ConfigMap, Pod, Service } from '../../node-agent/virtual-kubelet/types.js';
import { parseFunctionDefinition } from '../../lib/function-spec.js';
import { loadConfig as loadOperatorConfig } from '../../operator/config.js';
import { desiredDeployment } from '../../operator/desired.js';
import { loadConfig as loadSchedulerConfig } from '../../scheduler/config.js';
import { defaultBinDir, K8S_VERSION, startControlPlane, type ControlPlane } from '../control-plane/control-plane.js';

const run = promisify(execFile);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered manifests, checked field by field
type Obj = any;

/** dist/e2e/kubernetes → the repository root (and e2e/kubernetes when run from sources). */
const REPO_ROOT = (() => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..');
})();
const CHART = path.join(REPO_ROOT, 'charts/sluice');
/** A tool from SLUICE_E2E_BIN (or build-tools.sh's cache directory), else from PATH (e2e/kind.sh users), else the expected path. */
function tool(name: string): string {
  const built = path.join(process.env.SLUICE_E2E_BIN || defaultBinDir(), name);
  if (existsSync(built)) return built;
  const onPath = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => path.join(dir, name))
    .find((file) => existsSync(file));
  return onPath ?? built;
}
const HELM = tool('helm');
const KUBECTL = tool('kubectl');
const NAMESPACE = 'sluice-system';
const APP_VERSION = '0.1.0';
/** helm's built-in default is Kubernetes 1.20, below the chart's kubeVersion; render for the version the suite runs. */
const KUBE_VERSION = K8S_VERSION.replace(/^v/, '');

/** component → its env prefix (SLUICE_<PREFIX>_<KEY>) and workload kind. */
const COMPONENTS = {
  activator: { prefix: 'ACTIVATOR', kind: 'Deployment' },
  autoscaler: { prefix: 'AUTOSCALER', kind: 'Deployment' },
  scheduler: { prefix: 'SCHEDULER', kind: 'Deployment' },
  operator: { prefix: 'OPERATOR', kind: 'Deployment' },
  'node-agent': { prefix: 'NODE_AGENT', kind: 'DaemonSet' },
} as const;
type Component = keyof typeof COMPONENTS;
const COMPONENT_NAMES = Object.keys(COMPONENTS) as Component[];

async function helm(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run(HELM, args, { cwd: REPO_ROOT, maxBuffer: 64 * 2 ** 20 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`helm ${args.join(' ')} failed: ${e.stderr || e.message}\n${e.stdout ?? ''}`);
  }
}

/** The objects `helm template` renders with `args` (e.g. --set a=b), null documents dropped. */
async function render(...args: string[]): Promise<Obj[]> {
  const text = await helm('template', 'sluice', CHART, '--namespace', NAMESPACE, '--kube-version', KUBE_VERSION, ...args);
  const docs = parseAllDocuments(text);
  const objects: Obj[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    assert.deepEqual(doc.errors, [], 'helm template printed invalid YAML');
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) objects.push(value);
  }
  return objects;
}

const ofKind = (objects: Obj[], kind: string): Obj[] => objects.filter((o) => o.kind === kind);
function named(objects: Obj[], kind: string, name: string): Obj {
  const found = objects.find((o) => o.kind === kind && o.metadata?.name === name);
  assert.ok(found, `no ${kind} ${name} rendered`);
  return found;
}
const workloads = (objects: Obj[]): Obj[] => objects.filter((o) => o.kind === 'Deployment' || o.kind === 'DaemonSet');
const workloadOf = (objects: Obj[], c: Component): Obj => named(objects, COMPONENTS[c].kind, `sluice-${c}`);
const containersOf = (w: Obj): Obj[] => [...(w.spec.template.spec.initContainers ?? []), ...w.spec.template.spec.containers];
function envValue(container: Obj, name: string): string | undefined {
  return (container.env ?? []).find((e: Obj) => e.name === name)?.value;
}

/** The values `--set` cannot express (a float64 from a values file); written to a temp file. */
function valuesFile(text: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-chart-'));
  const file = path.join(dir, 'values.yaml');
  writeFileSync(file, text);
  return file;
}

const MONITORING = ['--set', 'metrics.podMonitor.enabled=true', '--set', 'metrics.serviceMonitor.enabled=true', '--set', 'dashboard.enabled=true'];

let defaults: Obj[];
let monitored: Obj[];

before(async () => {
  assert.ok(existsSync(HELM), `no helm at ${HELM} nor on PATH: build it with e2e/control-plane/build-tools.sh (or set SLUICE_E2E_BIN)`);
  [defaults, monitored] = await Promise.all([render(), render(...MONITORING)]);
});

describe('helm lint', () => {
  for (const strict of [false, true]) {
    for (const [what, extra] of [['defaults', []], ['monitoring on', MONITORING]] as const) {
      test(`passes${strict ? ' --strict' : ''} with ${what}`, async () => {
        const out = await helm('lint', CHART, '--kube-version', KUBE_VERSION, ...(strict ? ['--strict'] : []), ...extra);
        assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
        assert.doesNotMatch(out, /\[(WARNING|ERROR)\]/);
      });
    }
  }
});

describe('helm template', () => {
  test('renders the contract objects: four Deployments, the node-agent DaemonSet, Services and their ports', () => {
    assert.deepEqual(ofKind(defaults, 'Deployment').map((d) => d.metadata.name).sort(), [
      'sluice-activator',
      'sluice-autoscaler',
      'sluice-operator',
      'sluice-scheduler',
    ]);
    assert.deepEqual(ofKind(defaults, 'DaemonSet').map((d) => d.metadata.name), ['sluice-node-agent']);
    const ports = (name: string) =>
      named(defaults, 'Service', name).spec.ports.map((p: Obj) => `${p.name} ${p.port}→${p.targetPort}`);
    assert.deepEqual(ports('sluice-activator'), ['http 80→http', 'admin 9090→admin']);
    assert.deepEqual(ports('sluice-autoscaler'), ['grpc 8090→grpc', 'metrics 9090→metrics']);
    for (const c of ['scheduler', 'operator', 'node-agent']) assert.deepEqual(ports(`sluice-${c}`), ['metrics 9090→metrics'], c);
    for (const w of workloads(defaults)) {
      if (w.kind === 'Deployment') assert.equal(w.spec.replicas, 1, w.metadata.name);
      assert.equal(w.metadata.namespace, NAMESPACE);
    }
    // Each Service's targetPorts are named ports of the container it selects.
    for (const svc of ofKind(defaults, 'Service')) {
      const selected = workloads(defaults).filter((w) =>
        Object.entries(svc.spec.selector).every(([k, v]) => w.spec.template.metadata.labels[k] === v),
      );
      assert.equal(selected.length, 1, `${svc.metadata.name} selects exactly one workload`);
      const names = containersOf(selected[0]).flatMap((c) => (c.ports ?? []).map((p: Obj) => p.name));
      for (const p of svc.spec.ports) assert.ok(names.includes(p.targetPort), `${svc.metadata.name}: ${p.targetPort} is a container port`);
    }
    // Off by default: the Prometheus Operator CRDs may not exist.
    for (const kind of ['PodMonitor', 'ServiceMonitor']) assert.equal(ofKind(defaults, kind).length, 0, kind);
    assert.equal(defaults.filter((o) => o.kind === 'ConfigMap' && o.metadata.name === 'sluice-dashboard').length, 0);
  });

  test('values.schema.json rejects unknown keys and wrong types', async () => {
    await assert.rejects(render('--set', 'activator.replica=2'), /additional properties 'replica' not allowed/);
    await assert.rejects(render('--set', 'image.pullPolicy=Sometimes'), /pullPolicy/);
    await assert.rejects(render('--set', 'scheduler.metricsPort=http'), /metricsPort/);
  });

  test('replicas are values; the activator may run several', async () => {
    const objects = await render('--set', 'activator.replicas=3', '--set', 'operator.replicas=2');
    assert.equal(workloadOf(objects, 'activator').spec.replicas, 3);
    assert.equal(workloadOf(objects, 'operator').spec.replicas, 2);
    assert.equal(workloadOf(objects, 'autoscaler').spec.replicas, 1);
  });

  test('every object carries the standard labels; selectors are a stable subset of the pod labels', () => {
    const required = {
      'app.kubernetes.io/name': 'sluice',
      'app.kubernetes.io/instance': 'sluice',
      'app.kubernetes.io/version': APP_VERSION,
      'app.kubernetes.io/managed-by': 'Helm',
      'helm.sh/chart': `sluice-${APP_VERSION}`,
    };
    // The CRD template is generated by `npm run gen:crd` (operator/crd-file.ts), with labels of its own.
    for (const o of monitored.filter((m) => m.kind !== 'CustomResourceDefinition')) {
      const labels = o.metadata.labels ?? {};
      for (const [k, v] of Object.entries(required)) assert.equal(labels[k], v, `${o.kind} ${o.metadata.name}: ${k}`);
      assert.ok(labels['app.kubernetes.io/component'], `${o.kind} ${o.metadata.name}: component label`);
    }
    for (const w of workloads(defaults)) {
      const selector = w.spec.selector.matchLabels;
      assert.deepEqual(Object.keys(selector).sort(), ['app.kubernetes.io/component', 'app.kubernetes.io/instance', 'app.kubernetes.io/name']);
      for (const [k, v] of Object.entries(selector)) assert.equal(w.spec.template.metadata.labels[k], v, `${w.metadata.name}: ${k}`);
    }
  });

  test('every container runs as non-root, without privilege escalation, with ALL capabilities dropped and limits; PM, flows and the XDT fast path are the one exception', async () => {
    const PM_VOLUME = { name: 'sluice-pm', hostPath: { path: '/dev/shm/sluice-pm', type: 'DirectoryOrCreate' } };
    const PM_MOUNT = { name: 'sluice-pm', mountPath: '/dev/shm/sluice-pm' };
    const SHM_VOLUME = { name: 'sluice-xdt-shm', hostPath: { path: '/dev/shm/sluice-xdt-k8s', type: 'DirectoryOrCreate' } };
    const SHM_MOUNT = { name: 'sluice-xdt-shm', mountPath: '/dev/shm/sluice-xdt-k8s' };
    const renders = [
      [defaults, true, true, true, ''],
      [monitored, true, true, true, ''],
      [await render('--set', 'pm.enabled=false'), false, true, true, ' (pm off)'],
      [await render('--set', 'xdt.shm.enabled=false'), true, true, false, ' (xdt.shm off)'],
      [await render('--set', 'pm.enabled=false', '--set', 'xdt.shm.enabled=false'), false, true, false, ' (pm and xdt.shm off)'],
      [await render('--set', 'pm.enabled=false', '--set', 'flows.enabled=false', '--set', 'xdt.shm.enabled=false'), false, false, false, ' (pm, flows and xdt.shm off)'],
    ] as const;
    for (const [objects, pm, flows, shm, label] of renders) {
      for (const w of workloads(objects)) {
        const pod = w.spec.template.spec;
        const where = `${w.metadata.name}${label}`;
        const agent = w.metadata.name === 'sluice-node-agent';
        // The agent's gRPC port is a hostPort with PM or flows on; nothing else ever is.
        const hostPortAgent = (pm || flows) && agent;
        assert.equal(pod.securityContext?.runAsNonRoot, true, `${where}: pod runAsNonRoot`);
        assert.notEqual(pod.securityContext?.runAsUser, 0, `${where}: runAsUser`);
        assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${where}: seccomp`);
        for (const field of ['hostNetwork', 'hostPID', 'hostIPC']) assert.notEqual(pod[field], true, `${where}: ${field}`);
        // The service account token is the only volume (added by Kubernetes), but for the node agent's PM and XDT
        // segment directories, hostPaths mounted at their own path (what the test harness can give a process).
        const hostPaths = agent ? [...(pm ? [PM_VOLUME] : []), ...(shm ? [SHM_VOLUME] : [])] : [];
        assert.deepEqual(pod.volumes, hostPaths.length > 0 ? hostPaths : undefined, `${where}: volumes`);
        // Exactly the directory init containers the enabled features need, and only in the agent.
        const inits = agent ? [...(pm ? ['pm-dir'] : []), ...(shm ? ['xdt-shm-dir'] : [])] : [];
        assert.deepEqual((pod.initContainers ?? []).map((c: Obj) => c.name), inits, `${where}: init containers`);
        for (const c of containersOf(w)) {
          const sc = c.securityContext ?? {};
          const at = `${where}/${c.name}`;
          assert.equal(sc.allowPrivilegeEscalation, false, `${at}: allowPrivilegeEscalation`);
          assert.notEqual(sc.privileged, true, `${at}: privileged`);
          // The directory init containers run as root (kubelet creates a hostPath root-owned), with nothing else:
          // no capability (no CHOWN: the agent creates its own XDT directory), so they can only chmod what root owns.
          const root = agent && inits.includes(c.name);
          assert.equal(sc.runAsNonRoot !== false, !root, `${at}: runAsNonRoot`);
          assert.equal(sc.runAsUser === 0, root, `${at}: runAsUser`);
          assert.deepEqual(sc.capabilities?.drop, ['ALL'], `${at}: drop ALL`);
          assert.equal(sc.capabilities?.add, undefined, `${at}: no added capabilities`);
          assert.equal(sc.readOnlyRootFilesystem, true, `${at}: readOnlyRootFilesystem`);
          // Each init container mounts its own directory only; the agent both.
          const mounts = !agent ? [] : c.name === 'pm-dir' ? [PM_MOUNT] : c.name === 'xdt-shm-dir' ? [SHM_MOUNT] : [...(pm ? [PM_MOUNT] : []), ...(shm ? [SHM_MOUNT] : [])];
          assert.deepEqual(c.volumeMounts, mounts.length > 0 ? mounts : undefined, `${at}: volumeMounts`);
          for (const p of c.ports ?? []) assert.equal(p.hostPort !== undefined, hostPortAgent && p.name === 'grpc', `${at}: hostPort of ${p.name}`);
          for (const kind of ['requests', 'limits']) {
            for (const resource of ['cpu', 'memory']) assert.ok(c.resources?.[kind]?.[resource], `${at}: resources.${kind}.${resource}`);
          }
        }
      }
    }
  });

  test('pm and flows values: the node agent owns <hostPath>/<node> and serves PmNode and FlowProfile on the hostPort; the operator is told where', async () => {
    const agentEnv = (objects: Obj[]) => Object.fromEntries(workloadOf(objects, 'node-agent').spec.template.spec.containers[0].env.map((e: Obj) => [e.name, e.value]));
    const operatorEnv = (objects: Obj[]) => Object.fromEntries(workloadOf(objects, 'operator').spec.template.spec.containers[0].env.map((e: Obj) => [e.name, e.value]));
    const grpcPort = (objects: Obj[]) => workloadOf(objects, 'node-agent').spec.template.spec.containers[0].ports.find((p: Obj) => p.name === 'grpc');
    const pick = (env: Record<string, string>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, env[k]]));
    const AGENT_KEYS = ['SLUICE_NODE_AGENT_GRPC_PORT', 'SLUICE_NODE_AGENT_PM_MODE', 'SLUICE_NODE_AGENT_PM_DIR', 'SLUICE_NODE_AGENT_PM_STATE_FILE'];
    const OPERATOR_KEYS = ['SLUICE_OPERATOR_PM_HOST_PATH', 'SLUICE_OPERATOR_PM_PORT', 'SLUICE_OPERATOR_NODE_AGENT_PORT'];

    assert.deepEqual(pick(agentEnv(defaults), AGENT_KEYS), {
      SLUICE_NODE_AGENT_GRPC_PORT: '9095',
      SLUICE_NODE_AGENT_PM_MODE: 'auto',
      SLUICE_NODE_AGENT_PM_DIR: '/dev/shm/sluice-pm/$(SLUICE_NODE_AGENT_NAME)',
      SLUICE_NODE_AGENT_PM_STATE_FILE: '/dev/shm/sluice-pm/.state/$(SLUICE_NODE_AGENT_NAME).json',
    });
    assert.deepEqual(grpcPort(defaults), { name: 'grpc', containerPort: 9095, hostPort: 9095, protocol: 'TCP' });
    assert.deepEqual(pick(operatorEnv(defaults), OPERATOR_KEYS), { SLUICE_OPERATOR_PM_HOST_PATH: '/dev/shm/sluice-pm', SLUICE_OPERATOR_PM_PORT: '9095', SLUICE_OPERATOR_NODE_AGENT_PORT: '9095' });
    const init = workloadOf(defaults, 'node-agent').spec.template.spec.initContainers;
    assert.deepEqual(init.map((c: Obj) => [c.name, c.command.at(-1)]), [['pm-dir', '/dev/shm/sluice-pm'], ['xdt-shm-dir', '/dev/shm/sluice-xdt-k8s']]);

    const custom = await render('--set', 'pm.mode=dax', '--set', 'pm.hostPath=/mnt/pmem0/sluice', '--set', 'pm.port=9200', '--set', 'pm.initDirectory=false');
    assert.deepEqual(pick(agentEnv(custom), AGENT_KEYS), {
      SLUICE_NODE_AGENT_GRPC_PORT: '9200',
      SLUICE_NODE_AGENT_PM_MODE: 'dax',
      SLUICE_NODE_AGENT_PM_DIR: '/mnt/pmem0/sluice/$(SLUICE_NODE_AGENT_NAME)',
      SLUICE_NODE_AGENT_PM_STATE_FILE: '/mnt/pmem0/sluice/.state/$(SLUICE_NODE_AGENT_NAME).json',
    });
    assert.deepEqual(grpcPort(custom), { name: 'grpc', containerPort: 9200, hostPort: 9200, protocol: 'TCP' });
    assert.deepEqual(pick(operatorEnv(custom), OPERATOR_KEYS), { SLUICE_OPERATOR_PM_HOST_PATH: '/mnt/pmem0/sluice', SLUICE_OPERATOR_PM_PORT: '9200', SLUICE_OPERATOR_NODE_AGENT_PORT: '9200' });
    assert.deepEqual(workloadOf(custom, 'node-agent').spec.template.spec.initContainers.map((c: Obj) => c.name), ['xdt-shm-dir'], 'pm.initDirectory=false: the PM directory is prepared by the admin');
    assert.equal(workloadOf(custom, 'node-agent').spec.template.spec.volumes[0].hostPath.path, '/mnt/pmem0/sluice');

    // Off: the agent still answers GetNodePm (mode off), with no volume or init container; functions get no PM. The
    // flow profile (flows.enabled, on by default) keeps the gRPC port a hostPort, and the queue-proxies' reports.
    const off = await render('--set', 'pm.enabled=false');
    assert.deepEqual(pick(agentEnv(off), AGENT_KEYS), { SLUICE_NODE_AGENT_GRPC_PORT: '9095', SLUICE_NODE_AGENT_PM_MODE: 'off', SLUICE_NODE_AGENT_PM_DIR: undefined, SLUICE_NODE_AGENT_PM_STATE_FILE: undefined });
    assert.deepEqual(grpcPort(off), { name: 'grpc', containerPort: 9095, hostPort: 9095, protocol: 'TCP' });
    assert.deepEqual(pick(operatorEnv(off), OPERATOR_KEYS), { SLUICE_OPERATOR_PM_HOST_PATH: undefined, SLUICE_OPERATOR_PM_PORT: undefined, SLUICE_OPERATOR_NODE_AGENT_PORT: '9095' });
    assert.deepEqual(workloadOf(off, 'node-agent').spec.template.spec.initContainers.map((c: Obj) => c.name), ['xdt-shm-dir'], 'the XDT directory only');
    assert.deepEqual(workloadOf(off, 'node-agent').spec.template.spec.volumes.map((v: Obj) => v.name), ['sluice-xdt-shm']);
    // Both off: no hostPort at all (a release namespace enforcing PodSecurity baseline); no reports.
    const bothOff = await render('--set', 'pm.enabled=false', '--set', 'flows.enabled=false', '--set', 'pm.port=9300');
    assert.deepEqual(grpcPort(bothOff), { name: 'grpc', containerPort: 9300, protocol: 'TCP' }, 'the scheduler still asks at the pod IP');
    assert.deepEqual(pick(operatorEnv(bothOff), OPERATOR_KEYS), { SLUICE_OPERATOR_PM_HOST_PATH: undefined, SLUICE_OPERATOR_PM_PORT: undefined, SLUICE_OPERATOR_NODE_AGENT_PORT: undefined });
    // Flows off with PM on: PM keeps the hostPort, but the queue-proxies report nothing (cost-model neutral).
    const flowsOff = await render('--set', 'flows.enabled=false');
    assert.deepEqual(grpcPort(flowsOff), grpcPort(defaults));
    assert.deepEqual(pick(operatorEnv(flowsOff), OPERATOR_KEYS), { SLUICE_OPERATOR_PM_HOST_PATH: '/dev/shm/sluice-pm', SLUICE_OPERATOR_PM_PORT: '9095', SLUICE_OPERATOR_NODE_AGENT_PORT: undefined });
    assert.equal(agentEnv(await render('--set', 'nodeAgent.config.flow-half-life=2m')).SLUICE_NODE_AGENT_FLOW_HALF_LIFE, '2m');
    await assert.rejects(render('--set', 'flows.enabled=maybe'), /enabled/);
    await assert.rejects(render('--set', 'flows.halfLife=1m'), /additional properties 'halfLife' not allowed/);

    // nodeAgent.config still wins over the chart's own settings.
    assert.equal(agentEnv(await render('--set', 'nodeAgent.config.pm-mode=plain')).SLUICE_NODE_AGENT_PM_MODE, 'plain');
    await assert.rejects(render('--set', 'pm.hostPath=var/lib/pm'), /hostPath/);
    await assert.rejects(render('--set', 'pm.hostPath=/var/lib/pm/'), /hostPath/);
    await assert.rejects(render('--set', 'pm.mode=fast'), /mode/);
    await assert.rejects(render('--set', 'pm.port=http'), /port/);
    await assert.rejects(render('--set', 'pm.size=1Gi'), /additional properties 'size' not allowed/);
  });

  test('xdt.shm values: the agent owns <hostPath>/<node>, the operator gives the queue-proxy sidecars the hostPath and the agent\'s uid', async () => {
    const agent = (objects: Obj[]) => workloadOf(objects, 'node-agent').spec.template.spec;
    const agentEnv = (objects: Obj[]) => Object.fromEntries(agent(objects).containers[0].env.map((e: Obj) => [e.name, e.value]));
    const operatorEnv = (objects: Obj[]) => Object.fromEntries(workloadOf(objects, 'operator').spec.template.spec.containers[0].env.map((e: Obj) => [e.name, e.value]));
    const pick = (env: Record<string, string>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, env[k]]));
    const OPERATOR_KEYS = ['SLUICE_OPERATOR_XDT_SHM_HOST_PATH', 'SLUICE_OPERATOR_XDT_SHM_UID'];
    const shmInit = (objects: Obj[]) => (agent(objects).initContainers ?? []).find((c: Obj) => c.name === 'xdt-shm-dir');

    assert.equal(agentEnv(defaults).SLUICE_NODE_AGENT_XDT_SHM_DIR, '/dev/shm/sluice-xdt-k8s/$(SLUICE_NODE_AGENT_NAME)');
    assert.deepEqual(pick(operatorEnv(defaults), OPERATOR_KEYS), { SLUICE_OPERATOR_XDT_SHM_HOST_PATH: '/dev/shm/sluice-xdt-k8s', SLUICE_OPERATOR_XDT_SHM_UID: '65532' });
    // The init container makes the hostPath 1733 (root cannot chown without CAP_CHOWN; the agent creates its 0700 directory in it).
    assert.deepEqual(shmInit(defaults).command.slice(-1), ['/dev/shm/sluice-xdt-k8s']);
    assert.match(shmInit(defaults).command[2], /chmodSync\(dir, 0o1733\)/);

    const custom = await render('--set', 'xdt.shm.hostPath=/run/sluice-xdt', '--set', 'xdt.shm.initDirectory=false', '--set', 'nodeAgent.podSecurityContext.runAsUser=1000');
    assert.equal(agentEnv(custom).SLUICE_NODE_AGENT_XDT_SHM_DIR, '/run/sluice-xdt/$(SLUICE_NODE_AGENT_NAME)');
    assert.deepEqual(pick(operatorEnv(custom), OPERATOR_KEYS), { SLUICE_OPERATOR_XDT_SHM_HOST_PATH: '/run/sluice-xdt', SLUICE_OPERATOR_XDT_SHM_UID: '1000' }, 'the sidecars run as the agent\'s uid');
    assert.equal(shmInit(custom), undefined, 'initDirectory=false: the directory is prepared by the admin');
    assert.deepEqual(agent(custom).volumes.find((v: Obj) => v.name === 'sluice-xdt-shm').hostPath, { path: '/run/sluice-xdt', type: 'DirectoryOrCreate' });
    // The container-level runAsUser wins over the pod's, as in Kubernetes.
    const containerUid = await render('--set', 'nodeAgent.podSecurityContext.runAsUser=1000', '--set', 'nodeAgent.containerSecurityContext.runAsUser=2000');
    assert.equal(operatorEnv(containerUid).SLUICE_OPERATOR_XDT_SHM_UID, '2000');

    // Off (PodSecurity baseline/restricted namespaces): no volume, no init container, no setting anywhere.
    const off = await render('--set', 'xdt.shm.enabled=false');
    assert.equal(agentEnv(off).SLUICE_NODE_AGENT_XDT_SHM_DIR, undefined);
    assert.deepEqual(pick(operatorEnv(off), OPERATOR_KEYS), { SLUICE_OPERATOR_XDT_SHM_HOST_PATH: undefined, SLUICE_OPERATOR_XDT_SHM_UID: undefined });
    assert.equal(shmInit(off), undefined);
    assert.deepEqual(agent(off).volumes.map((v: Obj) => v.name), ['sluice-pm']);
    // nodeAgent.config still wins (e.g. the sweep age).
    assert.equal(agentEnv(await render('--set', 'nodeAgent.config.xdt-shm-sweep-age=30m')).SLUICE_NODE_AGENT_XDT_SHM_SWEEP_AGE, '30m');

    // Never inside the PM directory (every user container mounts it), nor around it; apart is fine, and so is PM off.
    await assert.rejects(render('--set', 'xdt.shm.hostPath=/dev/shm/sluice-pm/xdt'), /xdt\.shm\.hostPath \(\/dev\/shm\/sluice-pm\/xdt\) and pm\.hostPath \(\/dev\/shm\/sluice-pm\) overlap/);
    await assert.rejects(render('--set', 'xdt.shm.hostPath=/dev/shm', '--set', 'pm.hostPath=/dev/shm/sluice-pm'), /overlap/);
    await assert.rejects(render('--set', 'xdt.shm.hostPath=/dev/shm/sluice-pm'), /overlap/);
    await render('--set', 'xdt.shm.hostPath=/dev/shm/sluice-pm-xdt');
    await render('--set', 'xdt.shm.hostPath=/dev/shm/sluice-pm/xdt', '--set', 'pm.enabled=false');
    await assert.rejects(render('--set', 'xdt.shm.hostPath=dev/shm/x'), /hostPath/);
    await assert.rejects(render('--set', 'xdt.shm.hostPath=/dev/shm/x/'), /hostPath/);
    await assert.rejects(render('--set', 'xdt.shm.enabled=yes'), /enabled/);
    await assert.rejects(render('--set', 'xdt.shm.size=1Gi'), /additional properties 'size' not allowed/);
  });

  test('probes hit the admin/metrics paths each component serves, on its named ports', () => {
    // activator: lib/metrics-server.ts serves /metrics and /healthz, activator/admin-server.ts adds /ready
    // (503 while draining); every other component's metrics server serves /metrics and /healthz.
    for (const c of COMPONENT_NAMES) {
      const [container] = workloadOf(defaults, c).spec.template.spec.containers;
      const port = c === 'activator' ? 'admin' : 'metrics';
      assert.deepEqual(container.readinessProbe.httpGet, { path: c === 'activator' ? '/ready' : '/healthz', port }, c);
      assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port }, c);
      const portNumber = container.ports.find((p: Obj) => p.name === port).containerPort;
      const setting = c === 'activator' ? 'ADMIN_PORT' : 'METRICS_PORT';
      assert.equal(envValue(container, `SLUICE_${COMPONENTS[c].prefix}_${setting}`), String(portNumber), `${c}: probes the port it serves`);
    }
  });

  test('every workload runs as its own ServiceAccount, which exists', () => {
    const accounts = new Set(ofKind(defaults, 'ServiceAccount').map((sa) => `${sa.metadata.namespace}/${sa.metadata.name}`));
    assert.equal(accounts.size, COMPONENT_NAMES.length);
    for (const c of COMPONENT_NAMES) {
      const w = workloadOf(defaults, c);
      assert.equal(w.spec.template.spec.serviceAccountName, `sluice-${c}`);
      assert.ok(accounts.has(`${NAMESPACE}/sluice-${c}`), `ServiceAccount sluice-${c} is rendered`);
      assert.equal(w.spec.template.spec.automountServiceAccountToken, true, `${c} talks to the API server`);
    }
  });
});

/** One rule, normalized: each apiGroup × resource × resourceName as its own string, verbs sorted. */
function ruleKeys(rules: Obj[]): string[] {
  const keys: string[] = [];
  for (const r of rules) {
    for (const g of r.apiGroups ?? []) {
      for (const res of r.resources ?? []) {
        for (const name of r.resourceNames ?? ['']) keys.push(`${g || 'core'}/${res}${name ? `/${name}` : ''}: ${[...r.verbs].sort().join(',')}`);
      }
    }
  }
  return keys.sort();
}

const READ = 'get,list,watch';
const WRITE = 'create,delete,get,list,patch,update,watch';
/** Exactly the rules each component's code needs (see templates/rbac.yaml). */
const EXPECTED_RULES: Record<Component, string[]> = {
  operator: [
    `sluice.dev/functions: ${READ}`,
    'sluice.dev/functions/status: get,patch,update',
    `apps/deployments: ${WRITE}`,
    `core/services: ${WRITE}`,
    'core/events: create,patch',
    'events.k8s.io/events: create,patch',
    // Copies of the XDT key into function namespaces (server-side apply), and the source: that one name only.
    'core/secrets/sluice-xdt-key: create,get,patch',
  ].sort(),
  autoscaler: [
    `sluice.dev/functions: ${READ}`,
    `discovery.k8s.io/endpointslices: ${READ}`,
    `apps/deployments: ${READ}`,
    'apps/deployments/scale: get,patch,update',
  ].sort(),
  activator: [`sluice.dev/functions: ${READ}`, `discovery.k8s.io/endpointslices: ${READ}`].sort(),
  scheduler: [
    `core/pods: ${READ}`,
    'core/pods/binding: create',
    'core/pods/status: get,patch,update',
    `core/nodes: ${READ}`,
    `sluice.dev/functions: ${READ}`,
    'core/events: create,patch',
    'events.k8s.io/events: create,patch',
  ].sort(),
  'node-agent': [`core/nodes: ${READ}`, `core/pods: ${READ}`].sort(),
};

describe('RBAC', () => {
  test('no role grants a wildcard', () => {
    for (const role of [...ofKind(defaults, 'ClusterRole'), ...ofKind(defaults, 'Role')]) {
      for (const rule of role.rules) {
        for (const field of ['apiGroups', 'resources', 'verbs', 'resourceNames']) {
          assert.ok(!(rule[field] ?? []).includes('*'), `${role.metadata.name}: ${field} has "*"`);
        }
        assert.equal(rule.nonResourceURLs, undefined, `${role.metadata.name}: nonResourceURLs`);
      }
    }
  });

  test('each ServiceAccount is bound to exactly its own rules, and each binding to one ServiceAccount', () => {
    const bindings = [...ofKind(defaults, 'ClusterRoleBinding'), ...ofKind(defaults, 'RoleBinding')];
    for (const b of bindings) {
      assert.equal(b.subjects.length, 1, `${b.metadata.name}: one subject`);
      assert.equal(b.subjects[0].kind, 'ServiceAccount');
      assert.equal(b.subjects[0].namespace, NAMESPACE);
    }
    for (const c of COMPONENT_NAMES) {
      const mine = bindings.filter((b) => b.subjects[0].name === `sluice-${c}`);
      assert.ok(mine.length > 0, `${c} is bound`);
      const rules = mine.flatMap((b) => {
        const kind = b.roleRef.kind;
        assert.ok(kind === 'ClusterRole' || (kind === 'Role' && b.kind === 'RoleBinding'), `${b.metadata.name}: roleRef kind`);
        const role = named(defaults, kind, b.roleRef.name);
        assert.ok(role.metadata.name.startsWith(`sluice-${c}`), `${c} is bound to ${role.metadata.name}, not one of its own roles`);
        return role.rules;
      });
      assert.deepEqual(ruleKeys(rules), EXPECTED_RULES[c], c);
    }
    const accounts = new Set(ofKind(defaults, 'ServiceAccount').map((sa) => sa.metadata.name));
    for (const b of bindings) assert.ok(accounts.has(b.subjects[0].name), `${b.metadata.name} binds a rendered ServiceAccount`);
  });

  test('rbac.create=false renders no roles or bindings', async () => {
    const objects = await render('--set', 'rbac.create=false');
    for (const kind of ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']) assert.equal(ofKind(objects, kind).length, 0, kind);
    assert.equal(ofKind(objects, 'ServiceAccount').length, COMPONENT_NAMES.length);
  });
});

describe('images', () => {
  test('default to sluice/<component>:<appVersion>, IfNotPresent', () => {
    for (const c of COMPONENT_NAMES) {
      const [container] = workloadOf(defaults, c).spec.template.spec.containers;
      assert.equal(container.image, `sluice/${c}:${APP_VERSION}`);
      assert.equal(container.imagePullPolicy, 'IfNotPresent');
    }
    const [operator] = workloadOf(defaults, 'operator').spec.template.spec.containers;
    assert.equal(envValue(operator, 'SLUICE_OPERATOR_QUEUE_PROXY_IMAGE'), `sluice/queue-proxy:${APP_VERSION}`);
    assert.equal(envValue(operator, 'SLUICE_OPERATOR_IMAGE_PULL_POLICY'), 'IfNotPresent');
  });

  test('follow image.registry, image.tag, image.pullPolicy and per-component tags', async () => {
    const objects = await render(
      '--set', 'image.registry=registry.example.com:5000/team/',
      '--set', 'image.tag=1.2.3',
      '--set', 'image.pullPolicy=Always',
      '--set', 'scheduler.image.tag=1.2.4-rc1',
    );
    for (const c of COMPONENT_NAMES) {
      const [container] = workloadOf(objects, c).spec.template.spec.containers;
      assert.equal(container.image, `registry.example.com:5000/team/sluice/${c}:${c === 'scheduler' ? '1.2.4-rc1' : '1.2.3'}`);
      assert.equal(container.imagePullPolicy, 'Always');
    }
    const [operator] = workloadOf(objects, 'operator').spec.template.spec.containers;
    assert.equal(envValue(operator, 'SLUICE_OPERATOR_QUEUE_PROXY_IMAGE'), 'registry.example.com:5000/team/sluice/queue-proxy:1.2.3');
    assert.equal(envValue(operator, 'SLUICE_OPERATOR_IMAGE_PULL_POLICY'), 'Always');
  });
});

describe('the XDT key Secret', () => {
  const decodeKey = (objects: Obj[]): string => {
    const secret = named(objects, 'Secret', 'sluice-xdt-key');
    assert.deepEqual(Object.keys(secret.data), ['key']);
    return Buffer.from(secret.data.key, 'base64').toString('utf8');
  };

  test('holds 32 random bytes in base64, as a key file does, and the queue-proxy accepts it', async () => {
    const text = decodeKey(defaults);
    assert.match(text, /^[A-Za-z0-9+/]{43}=$/);
    assert.equal(Buffer.from(text, 'base64').length, 32);
    assert.equal(parseClusterKey(text).length, 32);
    // Random, not a constant: another render has another key.
    assert.notEqual(decodeKey(await render()), text);
  });

  test('is generated only when lookup finds no existing Secret (kept across helm upgrade)', () => {
    const source = readFileSync(path.join(CHART, 'templates/xdt-secret.yaml'), 'utf8');
    assert.match(source, /lookup "v1" "Secret" \.Release\.Namespace "sluice-xdt-key"/);
    assert.match(source, /randBytes 32/);
    // The branch order: the existing key first, randBytes only in the else branch.
    assert.ok(source.indexOf('index $existing.data "key"') < source.indexOf('randBytes'), 'the existing key wins');
  });

  test('is the Secret the operator is told about', () => {
    const [operator] = workloadOf(defaults, 'operator').spec.template.spec.containers;
    assert.equal(envValue(operator, 'SLUICE_OPERATOR_XDT_SECRET'), 'sluice-xdt-key');
    assert.equal(envValue(operator, 'SLUICE_OPERATOR_XDT_SECRET_NAMESPACE'), NAMESPACE);
  });
});

describe('autoscaler defaults ConfigMap', () => {
  test('keys are SLUICE_AUTOSCALER_*, read by the autoscaler with envFrom, and equal the code defaults', () => {
    const cm = named(defaults, 'ConfigMap', 'sluice-autoscaler-defaults');
    for (const [k, v] of Object.entries(cm.data)) {
      assert.match(k, /^SLUICE_AUTOSCALER_[A-Z0-9]+(_[A-Z0-9]+)*$/);
      assert.equal(typeof v, 'string', k);
    }
    const [container] = workloadOf(defaults, 'autoscaler').spec.template.spec.containers;
    assert.deepEqual(container.envFrom, [{ configMapRef: { name: 'sluice-autoscaler-defaults' } }]);
    // The shipped defaults are the autoscaler's own (Knative's): the chart changes nothing by default.
    const parsed = loadAutoscalerConfig(rawConfigFromEnv('AUTOSCALER', cm.data as NodeJS.ProcessEnv));
    assert.deepEqual(parsed, autoscalerDefaults());
    assert.equal(Object.keys(cm.data).length, 16, 'every KPA setting is listed (so it is documented in values.yaml)');
  });

  test('values override them, numbers stay plain, and a change restarts the autoscaler', async () => {
    const file = valuesFile('autoscaler:\n  defaults:\n    stable-window: 2m\n    max-scale: 1000000\n    target-burst-capacity: 2.5\n');
    try {
      const objects = await render('-f', file);
      const data = named(objects, 'ConfigMap', 'sluice-autoscaler-defaults').data;
      assert.equal(data.SLUICE_AUTOSCALER_STABLE_WINDOW, '2m');
      assert.equal(data.SLUICE_AUTOSCALER_MAX_SCALE, '1000000'); // not 1e+06
      assert.equal(data.SLUICE_AUTOSCALER_TARGET_BURST_CAPACITY, '2.5');
      const checksum = (o: Obj[]) => workloadOf(o, 'autoscaler').spec.template.metadata.annotations['checksum/autoscaler-defaults'];
      assert.notEqual(checksum(objects), checksum(defaults));
    } finally {
      rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });

  test('a key that is not kebab-case fails the render, naming it (values.schema.json, and the template itself)', async () => {
    await assert.rejects(render('--set', 'autoscaler.defaults.stableWindow=60s'), /stableWindow/);
    await assert.rejects(render('--skip-schema-validation', '--set', 'autoscaler.defaults.stableWindow=60s'), /stableWindow.*kebab-case/s);
  });
});

// ---- env: what each component reads, after kubelet resolves it ----

const POD_IP = '10.244.1.7';
const NODE = 'node-1';
/** The cluster IPs a real apiserver would give the release's Services, in render order. */
function withClusterIPs(objects: Obj[]): Service[] {
  const services: Service[] = ofKind(objects, 'Service').map((s, i) => ({ ...s, spec: { ...s.spec, clusterIP: `10.96.0.${10 + i}` } }));
  services.push({ metadata: { name: 'kubernetes', namespace: 'default' }, spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP' }] } });
  return services;
}
const clusterIP = (services: Service[], name: string): string => services.find((s) => s.metadata.name === name)!.spec.clusterIP!;

/** The container's environment as kubelet builds it (node-agent/virtual-kubelet/env.ts is a port of kubelet's). */
function kubeletEnv(objects: Obj[], c: Component, services: Service[]): Map<string, string> {
  const w = workloadOf(objects, c);
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `sluice-${c}-7d9f8-abcde`, namespace: NAMESPACE, uid: 'u-1', labels: w.spec.template.metadata.labels },
    spec: { ...w.spec.template.spec, nodeName: NODE },
  } as Pod;
  const configMaps = new Map<string, ConfigMap | null>(ofKind(objects, 'ConfigMap').map((cm) => [cm.metadata.name, cm]));
  const result = resolveEnv({
    pod,
    container: pod.spec.containers[0],
    podIPs: [POD_IP],
    hostIPs: ['10.244.1.1'],
    services,
    configMaps,
    secrets: new Map(),
    nodeAllocatable: { cpu: '4', memory: '8Gi' },
  });
  assert.ok(result.ok, `${c}: kubelet would not start the container: ${result.ok ? '' : result.error}`);
  return result.env;
}

/** The names the chart itself defines for a container: env entries and envFrom ConfigMap keys. */
function declaredNames(objects: Obj[], c: Component): Set<string> {
  const [container] = workloadOf(objects, c).spec.template.spec.containers;
  const names = new Set<string>((container.env ?? []).map((e: Obj) => e.name));
  for (const from of container.envFrom ?? []) {
    for (const k of Object.keys(named(objects, 'ConfigMap', from.configMapRef.name).data ?? {})) names.add(k);
  }
  return names;
}

const LOADERS: Record<Component, (raw: RawConfig) => unknown> = {
  activator: loadActivatorConfig,
  autoscaler: loadAutoscalerConfig,
  scheduler: loadSchedulerConfig,
  operator: loadOperatorConfig,
  // As node-agent/main.ts picks: the DaemonSet settings on Kubernetes, the local agent's otherwise.
  'node-agent': (raw) => (raw.platform === 'kubernetes' ? loadDaemonConfig(raw) : loadNodeAgentConfig(raw)),
};

describe('component env', () => {
  test('starts with POD_IP from the downward API, sets platform=kubernetes, and references only defined variables', () => {
    const services = withClusterIPs(defaults);
    for (const c of COMPONENT_NAMES) {
      const [container] = workloadOf(defaults, c).spec.template.spec.containers;
      const env: Obj[] = container.env;
      assert.deepEqual(env[0], { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }, `${c}: POD_IP first`);
      assert.equal(envValue(container, `SLUICE_${COMPONENTS[c].prefix}_PLATFORM`), 'kubernetes', c);
      // $(VAR) must name an earlier env entry or a Service variable, or kubelet leaves it unexpanded.
      const serviceVars = new Set(
        services
          .filter((s) => s.metadata.namespace === NAMESPACE)
          .flatMap((s) => {
            const prefix = s.metadata.name.toUpperCase().replaceAll('-', '_');
            return [`${prefix}_SERVICE_HOST`, `${prefix}_SERVICE_PORT`, ...(s.spec.ports ?? []).map((p) => `${prefix}_SERVICE_PORT_${p.name!.toUpperCase()}`)];
          }),
      );
      const earlier = new Set<string>();
      for (const e of env) {
        for (const [, ref] of (e.value ?? '').matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) {
          assert.ok(earlier.has(ref) || serviceVars.has(ref), `${c}: ${e.name} references $(${ref}), which is not defined before it`);
        }
        earlier.add(e.name);
      }
    }
  });

  test('every setting the chart passes is one the component accepts, with the value the contract gives', () => {
    const services = withClusterIPs(defaults);
    const autoscaler = `${clusterIP(services, 'sluice-autoscaler')}:8090`;
    const configs = {} as Record<Component, Obj>;
    for (const c of COMPONENT_NAMES) {
      const declared = declaredNames(defaults, c);
      const env = Object.fromEntries([...kubeletEnv(defaults, c, services)].filter(([k]) => declared.has(k)));
      for (const [k, v] of Object.entries(env)) assert.doesNotMatch(v, /\$\(/, `${c}: ${k} = ${v} is not expanded`);
      configs[c] = LOADERS[c](rawConfigFromEnv(COMPONENTS[c].prefix, env));
    }
    const expect = (c: Component, want: Record<string, unknown>) => {
      for (const [k, v] of Object.entries(want)) assert.deepEqual(configs[c][k], v, `${c}.${k}`);
    };
    expect('activator', { platform: 'kubernetes', host: POD_IP, port: 8080, adminPort: 9090, autoscalerAddress: autoscaler, activatorId: `sluice-activator-7d9f8-abcde` });
    expect('autoscaler', { platform: 'kubernetes', grpcAddress: `${POD_IP}:8090`, metricsHost: POD_IP, metricsPort: 9090 });
    expect('scheduler', { platform: 'kubernetes', schedulerName: 'sluice-scheduler', grpcAddress: `${POD_IP}:8091`, metricsPort: 9090 });
    expect('operator', {
      queueProxyImage: `sluice/queue-proxy:${APP_VERSION}`,
      autoscalerAddress: autoscaler,
      activatorUrl: `http://${clusterIP(services, 'sluice-activator')}:80`,
      schedulerName: 'sluice-scheduler',
      xdtSecret: 'sluice-xdt-key',
      xdtSecretNamespace: NAMESPACE,
      metricsHost: POD_IP,
      metricsPort: 9090,
    });
    expect('node-agent', { platform: 'kubernetes', name: NODE, host: POD_IP, metricsPort: 9090, grpcPort: 9095 });
    const pm = configs['node-agent'].pm;
    assert.deepEqual([pm.mode, pm.dir, pm.stateFile], ['auto', `/dev/shm/sluice-pm/${NODE}`, `/dev/shm/sluice-pm/.state/${NODE}.json`]);
    expect('operator', { pmHostPath: '/dev/shm/sluice-pm', pmPort: 9095, nodeAgentPort: 9095 });
    expect('node-agent', { flowHalfLifeMs: 60_000 });
    expect('operator', { xdtShmHostPath: '/dev/shm/sluice-xdt-k8s', xdtShmUid: 65532 });
    expect('node-agent', { xdtShmDir: `/dev/shm/sluice-xdt-k8s/${NODE}`, xdtShmSweepAgeMs: 600_000 });
    // The pod the operator builds from that config: its queue-proxy, once kubelet expands $(NODE_NAME), names the very
    // directory this node's agent creates, inside a volume of the agent's hostPath; its user container sees none of it.
    const fn = parseFunctionDefinition({ apiVersion: 'sluice.dev/v1alpha1', kind: 'Function', metadata: { name: 'xdt', namespace: 'default' }, spec: { container: { image: 'x' } } }, 'test');
    const template = desiredDeployment({ uid: 'u', definition: fn }, configs.operator).spec!.template;
    const fnPod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'xdt-1', namespace: 'default', uid: 'u-2' }, spec: { ...template.spec, nodeName: NODE } } as Pod;
    const [user, qp] = template.spec!.containers;
    const resolved = resolveEnv({ pod: fnPod, container: fnPod.spec.containers[1], podIPs: ['10.244.1.9'], hostIPs: ['10.244.1.1'], services: [], configMaps: new Map(), secrets: new Map([['sluice-xdt-key', { metadata: { name: 'sluice-xdt-key' }, data: { key: 'a2V5' } }]]), nodeAllocatable: { cpu: '4', memory: '8Gi' } });
    assert.ok(resolved.ok, resolved.ok ? '' : resolved.error);
    assert.equal(resolved.env.get('SLUICE_QUEUE_PROXY_XDT_SHM_DIR'), configs['node-agent'].xdtShmDir);
    const agentVolume = workloadOf(defaults, 'node-agent').spec.template.spec.volumes.find((v: Obj) => v.name === 'sluice-xdt-shm');
    assert.deepEqual(template.spec!.volumes?.find((v) => v.name === 'sluice-xdt-shm')?.hostPath, agentVolume.hostPath);
    assert.deepEqual(qp.volumeMounts, [{ name: 'sluice-xdt-shm', mountPath: agentVolume.hostPath.path }]);
    assert.equal(user.volumeMounts?.some((m) => m.name === 'sluice-xdt-shm'), false);
    assert.equal(qp.securityContext?.runAsUser, 65532, "the agent's uid");
  });

  test('the components also start with the Service link variables kubelet adds to every pod of the namespace', () => {
    // kubelet gives every container SLUICE_<SERVICE>_SERVICE_HOST, _SERVICE_PORT_<NAME>, _PORT_<n>_TCP… for each
    // Service of its namespace. The Services sluice-<component> make names inside each component's own
    // SLUICE_<COMPONENT>_ prefix, which its config reader must not take for settings.
    const services = withClusterIPs(defaults);
    const failures: string[] = [];
    for (const c of COMPONENT_NAMES) {
      const env = Object.fromEntries(kubeletEnv(defaults, c, services));
      try {
        LOADERS[c](rawConfigFromEnv(COMPONENTS[c].prefix, env));
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
    assert.deepEqual(failures, [], 'config readers must ignore the Service link variables of sluice-<component> (or every pod crashes at start)');
  });
});

describe('monitoring', () => {
  test('PodMonitor and ServiceMonitor scrape the components and the queue-proxies, keeping their namespace label', () => {
    const pm = named(monitored, 'PodMonitor', 'sluice');
    assert.equal(pm.apiVersion, 'monitoring.coreos.com/v1');
    assert.deepEqual(pm.spec.selector.matchLabels, { 'app.kubernetes.io/name': 'sluice', 'app.kubernetes.io/instance': 'sluice' });
    assert.deepEqual(pm.spec.podMetricsEndpoints.map((e: Obj) => `${e.port} ${e.path} ${e.honorLabels}`), ['metrics /metrics true', 'admin /metrics true']);
    // Every component pod exposes one of the scraped ports.
    for (const w of workloads(monitored)) {
      const ports = w.spec.template.spec.containers[0].ports.map((p: Obj) => p.name);
      assert.ok(ports.includes('metrics') || ports.includes('admin'), w.metadata.name);
    }
    const sm = named(monitored, 'ServiceMonitor', 'sluice-functions');
    assert.deepEqual(sm.spec.namespaceSelector, { any: true });
    assert.deepEqual(sm.spec.selector.matchExpressions, [{ key: 'sluice.dev/function', operator: 'Exists' }]);
    assert.deepEqual(sm.spec.endpoints.map((e: Obj) => `${e.port} ${e.honorLabels}`), ['metrics true']);
  });

  test('the Grafana dashboard is valid JSON and charts every metric Sluice exports, and only those', () => {
    const cm = named(monitored, 'ConfigMap', 'sluice-dashboard');
    assert.equal(cm.metadata.labels.grafana_dashboard, '1');
    const dashboard = JSON.parse(cm.data['sluice.json']);
    assert.equal(dashboard.uid, 'sluice-overview');
    const exprs: string[] = dashboard.panels.flatMap((p: Obj) => (p.targets ?? []).map((t: Obj) => t.expr));
    const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\b(sluice_[a-z0-9_]+)/g)].map((m) => m[1].replace(/_bucket$/, ''))));
    // Every metric name declared in the components' sources (quoted lower-case sluice_* strings are metric names).
    const exported = new Set<string>();
    const sources: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir)) {
        const file = path.join(dir, entry);
        if (statSync(file).isDirectory()) walk(file);
        else if (entry.endsWith('.ts') && !entry.endsWith('.test.ts')) sources.push(file);
      }
    };
    for (const dir of [...COMPONENT_NAMES, 'queue-proxy']) walk(path.join(REPO_ROOT, dir));
    for (const file of sources) {
      for (const m of readFileSync(file, 'utf8').matchAll(/['"`](sluice_[a-z0-9_]+)['"`]/g)) exported.add(m[1]);
    }
    assert.ok(exported.size >= 20, `found only ${[...exported].join(', ')} in ${sources.length} files`);
    assert.deepEqual([...used].filter((m) => !exported.has(m)).sort(), [], 'the dashboard charts metrics nobody exports');
    assert.deepEqual([...exported].filter((m) => !used.has(m)).sort(), [], 'exported metrics missing from the dashboard');
    // Panels do not overlap on Grafana's 24-column grid.
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      const { x, y, w, h } = p.gridPos;
      assert.ok(x + w <= 24, `${p.title}: inside the grid`);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          assert.ok(!cells.has(`${i},${j}`), `${p.title} overlaps another panel`);
          cells.add(`${i},${j}`);
        }
      }
    }
  });
});

// ---- a real install: server-side validation of every object, RBAC as the API server evaluates it, lookup ----

describe('helm install on a real control plane', () => {
  let cp: ControlPlane | undefined;
  let kubeconfig = process.env.SLUICE_E2E_KUBECONFIG ?? '';
  let installed = false;

  before(async () => {
    if (kubeconfig === '') {
      cp = await startControlPlane({ port: 0 });
      kubeconfig = cp.kubeconfigPath;
    }
  });
  after(async () => {
    if (cp && installed) await helm('uninstall', 'sluice', '--namespace', NAMESPACE, '--kubeconfig', kubeconfig).catch(() => undefined);
    await cp?.stop();
  });

  const kubectl = async (...args: string[]): Promise<string> => {
    try {
      return (await run(KUBECTL, ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 16 * 2 ** 20 })).stdout;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      // `kubectl auth can-i` answers "no" with exit status 1.
      if (args[0] === 'auth' && e.stdout?.trim() === 'no') return 'no';
      throw new Error(`kubectl ${args.join(' ')} failed: ${e.stderr || e.message}`);
    }
  };
  const xdtKey = async (): Promise<string> =>
    JSON.parse(await kubectl('get', 'secret', 'sluice-xdt-key', '--namespace', NAMESPACE, '--output', 'json')).data.key;

  test('installs (the API server accepts every object), and helm upgrade keeps the XDT key', async () => {
    if (process.env.SLUICE_E2E_KUBECONFIG === undefined) {
      await helm('install', 'sluice', CHART, '--namespace', NAMESPACE, '--create-namespace', '--kubeconfig', kubeconfig);
      installed = true;
    }
    const key = await xdtKey();
    assert.equal(parseClusterKey(Buffer.from(key, 'base64').toString('utf8')).length, 32);
    await helm('upgrade', 'sluice', CHART, '--namespace', NAMESPACE, '--kubeconfig', kubeconfig, '--reuse-values');
    assert.equal(await xdtKey(), key, 'helm upgrade kept the key (lookup)');
  });

  test('the API server grants each ServiceAccount what it needs and nothing more', async () => {
    const can = async (component: Component, ...what: string[]): Promise<boolean> =>
      (await kubectl('auth', 'can-i', ...what, `--as=system:serviceaccount:${NAMESPACE}:sluice-${component}`)).trim() === 'yes';
    const table: Array<[Component, string[], boolean]> = [
      ['activator', ['watch', 'functions.sluice.dev', '--all-namespaces'], true],
      ['activator', ['list', 'endpointslices.discovery.k8s.io', '--all-namespaces'], true],
      ['activator', ['list', 'pods', '--all-namespaces'], false],
      ['activator', ['get', 'secrets', '--namespace', NAMESPACE], false],
      ['autoscaler', ['patch', 'deployments.apps', '--subresource=scale', '--namespace', 'default'], true],
      ['autoscaler', ['patch', 'deployments.apps', '--namespace', 'default'], false],
      ['operator', ['create', 'deployments.apps', '--namespace', 'default'], true],
      ['operator', ['patch', 'functions.sluice.dev', '--subresource=status', '--namespace', 'default'], true],
      ['operator', ['update', 'functions.sluice.dev', '--namespace', 'default'], false],
      ['operator', ['get', 'secret/sluice-xdt-key', '--namespace', NAMESPACE], true],
      ['operator', ['patch', 'secret/sluice-xdt-key', '--namespace', 'default'], true],
      ['operator', ['get', 'secret/other', '--namespace', NAMESPACE], false],
      ['operator', ['list', 'secrets', '--all-namespaces'], false],
      ['scheduler', ['create', 'pods', '--subresource=binding', '--namespace', 'default'], true],
      ['scheduler', ['delete', 'pods', '--namespace', 'default'], false],
      ['node-agent', ['watch', 'nodes'], true],
      ['node-agent', ['patch', 'nodes'], false],
    ];
    for (const [component, what, want] of table) assert.equal(await can(component, ...what), want, `${component} can ${what.join(' ')}`);
  });
});
