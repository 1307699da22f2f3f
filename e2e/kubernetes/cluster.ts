// The cluster the Kubernetes e2e suite runs on: a real control plane with two virtual-kubelet nodes on this machine
// (test infrastructure, e2e/control-plane and node-agent/virtual-kubelet), or any cluster named by SLUICE_E2E_KUBECONFIG.
import { after, before } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../lib/net.js';
import { until } from '../../lib/testing/until.js';
import { spawnOwned, tailFile, terminate } from '../../lib/process.js';
import { defaultBinDir, startControlPlane, type ControlPlane } from '../control-plane/control-plane.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const VIRTUAL_KUBELET = path.join(REPO_ROOT, 'dist/node-agent/virtual-kubelet/main.js');

export interface E2eCluster {
  description: string;
  kubeconfig: string;
  chartPath: string;
  valuesFile: string;
  /** The chart's domain value (Function URLs). */
  domain: string;
  /** Base URL of the activator's Service (resolved on first use, after helm install). */
  activatorUrl(): Promise<string>;
  kubectl(...args: string[]): Promise<string>;
  /** kubectl apply -f - of a YAML text; rejects with kubectl's stderr (the API server's refusal). */
  kubectlApply(yaml: string): Promise<string>;
  helm(...args: string[]): Promise<string>;
  /** Extra `helm install` arguments this cluster needs. */
  helmInstallArgs: string[];
  /** Restarts kube-apiserver (the local control plane only). */
  restartApiServer?(): Promise<void>;
  /** A container's log so far (the local harness only: the virtual kubelets' log files); undefined when none ran. */
  podLog?(namespace: string, pod: string, container: string): string | undefined;
  /** Objects, events and logs for a failed run's output. */
  dumpState(): Promise<string>;
  stop(): Promise<void>;
}

/** Runs a command; resolves to stdout, rejects with the command line, exit code and stderr. */
export function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${path.basename(command)} ${args.join(' ')}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${path.basename(command)} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${stderr.trim() || stdout.trim()}`));
    });
    child.stdin.end(options.input ?? '');
  });
}

const E2E_VALUES = path.join(REPO_ROOT, 'e2e/kubernetes/values-e2e.yaml');
const DOMAIN = 'sluice.localhost';

interface VirtualNode {
  name: string;
  child: ChildProcess;
  logFile: string;
  logDir: string;
}

/** A virtual node acts as system:node:<name>, so the Node authorizer and NodeRestriction hold it to what a kubelet may do. */
async function startVirtualNode(cp: ControlPlane, index: number, serviceProxy: boolean, dir: string): Promise<VirtualNode> {
  const name = `node-${index}`;
  const kubeconfig = await cp.kubeconfigFor(name, `system:node:${name}`, ['system:nodes']);
  // The service proxy reads Services and EndpointSlices cluster-wide, as kube-proxy does.
  if (serviceProxy) await cp.kubectl('create', 'clusterrolebinding', `sluice-e2e-${name}-proxier`, '--clusterrole=system:node-proxier', `--user=system:node:${name}`);
  const logDir = path.join(dir, name, 'logs');
  const logFile = path.join(dir, `${name}.log`);
  mkdirSync(logDir, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SLUICE_VIRTUAL_KUBELET_NAME: name,
    SLUICE_VIRTUAL_KUBELET_INDEX: String(index),
    SLUICE_VIRTUAL_KUBELET_KUBECONFIG: kubeconfig,
    SLUICE_VIRTUAL_KUBELET_SERVICE_PROXY: String(serviceProxy),
    SLUICE_VIRTUAL_KUBELET_CPU: '4',
    SLUICE_VIRTUAL_KUBELET_MEMORY: '8Gi',
    SLUICE_VIRTUAL_KUBELET_LOG_DIR: logDir,
    SLUICE_VIRTUAL_KUBELET_RUN_DIR: path.join(dir, name, 'run'),
    // Crash loops retried quickly: a test waits seconds, not minutes.
    SLUICE_VIRTUAL_KUBELET_BACKOFF: '1s',
    SLUICE_VIRTUAL_KUBELET_BACKOFF_MAX: '5s',
  };
  const child = spawnOwned(process.execPath, [VIRTUAL_KUBELET], { env, cwd: REPO_ROOT, logFile });
  return { name, child, logFile, logDir };
}

async function waitNodesReady(kubectl: (...a: string[]) => Promise<string>, names: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const out = await kubectl('get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}').catch(() => '');
    const ready = new Set(out.split('\n').filter((l) => l.endsWith('=True')).map((l) => l.split('=')[0]));
    if (names.every((n) => ready.has(n))) return;
    if (Date.now() > deadline) throw new Error(`virtual nodes not Ready after ${timeoutMs} ms: ${out.replaceAll('\n', ' ')}`);
    await sleep(250);
  }
}

function commonParts(kubeconfig: string, binDir: string): Pick<E2eCluster, 'kubeconfig' | 'chartPath' | 'valuesFile' | 'domain' | 'kubectl' | 'kubectlApply' | 'helm'> {
  const env = { ...process.env, KUBECONFIG: kubeconfig };
  const kubectl = path.join(binDir, 'kubectl');
  return {
    kubeconfig,
    chartPath: path.join(REPO_ROOT, 'charts/sluice'),
    valuesFile: E2E_VALUES,
    domain: DOMAIN,
    kubectl: (...args) => run(kubectl, args, { env }),
    kubectlApply: (yaml) => run(kubectl, ['apply', '-f', '-'], { env, input: yaml }),
    helm: (...args) => run(path.join(binDir, 'helm'), args, { env }),
  };
}

async function describeCluster(kubectl: (...a: string[]) => Promise<string>): Promise<string> {
  const parts: string[] = [];
  for (const args of [
    ['get', 'nodes,functions,deployments,replicasets,pods,services,endpointslices', '-A', '-o', 'wide'],
    ['get', 'events', '-A', '--sort-by=.lastTimestamp'],
  ]) {
    parts.push(`$ kubectl ${args.join(' ')}\n${await kubectl(...args).catch((e: Error) => e.message)}`);
  }
  return parts.join('\n');
}

export async function startE2eCluster(): Promise<E2eCluster> {
  const binDir = process.env.SLUICE_E2E_BIN || defaultBinDir();
  const existing = process.env.SLUICE_E2E_KUBECONFIG;
  if (existing) return existingCluster(existing, binDir);

  const cp = await startControlPlane({ port: 0 });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-e2e-nodes-'));
  const nodes: VirtualNode[] = [];
  const parts = commonParts(cp.kubeconfigPath, cp.binDir);
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => terminate(n.child, 15_000)));
    await cp.stop();
    // SLUICE_E2E_KEEP=1 keeps the pods' logs for a look after the run.
    if (!process.env.SLUICE_E2E_KEEP) rmSync(dir, { recursive: true, force: true });
  };
  try {
    nodes.push(await startVirtualNode(cp, 1, true, dir), await startVirtualNode(cp, 2, false, dir));
    await waitNodesReady(parts.kubectl, nodes.map((n) => n.name), 30_000);
  } catch (err) {
    const logs = nodes.map((n) => `--- ${n.name}\n${tailFile(n.logFile, 30)}`).join('\n');
    await stop();
    throw new Error(`${(err as Error).message}\n${logs}`);
  }
  let activator: string | undefined;
  return {
    ...parts,
    helmInstallArgs: [],
    description: `local control plane ${cp.server} (Kubernetes v1.36.3) with virtual nodes ${nodes.map((n) => n.name).join(', ')}`,
    async activatorUrl() {
      // The virtual kubelet's service proxy serves ClusterIPs on this machine, as kube-proxy would on a node.
      activator ??= await parts
        .kubectl('get', 'service', 'sluice-activator', '-n', 'sluice-system', '-o', 'jsonpath={.spec.clusterIP}:{.spec.ports[?(@.name=="http")].port}')
        .then((a) => `http://${a}`);
      return activator!;
    },
    async dumpState() {
      const logs: string[] = [];
      for (const n of nodes) {
        logs.push(`--- virtual kubelet ${n.name}\n${tailFile(n.logFile, 20)}`);
        let files: string[] = [];
        try {
          files = readdirSync(n.logDir);
        } catch {
          // no pods ran there
        }
        for (const f of files) logs.push(`--- ${n.name}/${f}\n${tailFile(path.join(n.logDir, f), 15)}`);
      }
      return [await describeCluster(parts.kubectl), ...logs, cp.dumpLogs(20)].join('\n');
    },
    restartApiServer: () => cp.restartApiServer(),
    podLog(namespace, pod, container) {
      for (const n of nodes) {
        const file = path.join(n.logDir, `${namespace}_${pod}_${container}.log`);
        if (existsSync(file)) return readFileSync(file, 'utf8');
      }
      return undefined;
    },
    stop,
  };
}

/** A cluster someone else runs (kind, k3d, a real one): the activator is reached through kubectl port-forward. */
async function existingCluster(kubeconfig: string, binDir: string): Promise<E2eCluster> {
  const parts = commonParts(kubeconfig, binDir);
  let forward: ChildProcess | undefined;
  let url: string | undefined;
  return {
    ...parts,
    description: `existing cluster (SLUICE_E2E_KUBECONFIG=${kubeconfig})`,
    // Pods have network namespaces of their own there: binding all addresses lets port-forward (via 127.0.0.1) in.
    helmInstallArgs: ['--set', 'bindAddress=0.0.0.0'],
    async activatorUrl() {
      if (url) return url;
      const port = await freePort();
      forward = spawn(path.join(binDir, 'kubectl'), ['port-forward', '-n', 'sluice-system', 'service/sluice-activator', `${port}:80`], {
        env: { ...process.env, KUBECONFIG: kubeconfig },
        stdio: 'ignore',
      });
      await sleep(2_000);
      url = `http://127.0.0.1:${port}`;
      return url;
    },
    dumpState: () => describeCluster(parts.kubectl),
    async stop() {
      forward?.kill();
    },
  };
}

/** A suite step, printed so a failing run shows how far it got. */
export function step(message: string): void {
  console.log(`==> ${message}`);
}

/**
 * node:test has no "a test failed" hook for after(): `guarded` runs a test body and records a failure, so the
 * suite dumps the cluster state once, at the end, when `failed`.
 */
export function failureRecorder(): { guarded(body: () => Promise<void>): Promise<void>; readonly failed: boolean } {
  let failed = false;
  return {
    async guarded(body) {
      try {
        await body();
      } catch (err) {
        failed = true;
        throw err;
      }
    },
    get failed() {
      return failed;
    },
  };
}

/** Sum of the samples of `name` whose labels include `labels` (Prometheus text format). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (!Object.entries(labels).every(([k, v]) => got[k] === v)) continue;
    sum = (sum ?? 0) + Number(m[4]);
  }
  return sum;
}

/** A Function manifest for an example image (`sluice/example-<example>`) in namespace default, with extra spec lines. */
export function functionYaml(name: string, example: string, spec = ''): string {
  return [
    'apiVersion: sluice.dev/v1alpha1',
    'kind: Function',
    'metadata:',
    `  name: ${name}`,
    '  namespace: default',
    'spec:',
    '  container:',
    `    image: sluice/example-${example}:0.1.0`,
    '    readinessPath: /healthz',
    spec,
  ].join('\n');
}

/**
 * The scaffold of a suite that installs its own release: a cluster started before the tests, the state dumped
 * after a failure, and the release uninstalled at the end unless the cluster is this machine's harness (it is
 * thrown away whole).
 */
export function installingSuite(options: { release: string; namespace: string; harness: boolean }): {
  readonly cluster: E2eCluster;
  guarded(body: () => Promise<void>): Promise<void>;
  json<T = unknown>(...args: string[]): Promise<T>;
  /** Call once the release is installed, so it is uninstalled at the end. */
  installed(): void;
} {
  let cluster: E2eCluster | undefined;
  let installed = false;
  const failures = failureRecorder();
  before(async () => {
    cluster = await startE2eCluster();
    step(`cluster: ${cluster.description}`);
  });
  after(async () => {
    if (failures.failed && cluster) console.log(await cluster.dumpState());
    if (installed && !options.harness) await cluster?.helm('uninstall', options.release, '-n', options.namespace, '--wait', '--timeout', '120s').catch(() => undefined);
    await cluster?.stop();
  });
  return {
    get cluster() {
      if (!cluster) throw new Error('the cluster is not started yet');
      return cluster;
    },
    guarded: failures.guarded,
    async json<T = unknown>(...args: string[]): Promise<T> {
      return JSON.parse(await this.cluster.kubectl(...args, '-o', 'json')) as T;
    },
    installed() {
      installed = true;
    },
  };
}

/**
 * Waits until the node agent DaemonSet has a ready pod on every node. `helm install --wait` can
 * return before the DaemonSet controller has counted the last agent ready.
 */
export async function nodeAgentsReady(cluster: E2eCluster, namespace: string, timeoutMs = 60_000): Promise<void> {
  await until('a ready node agent on every node', timeoutMs, async () => {
    const ds = JSON.parse(await cluster.kubectl('get', 'daemonset', 'sluice-node-agent', '-n', namespace, '-o', 'json')) as { status: { numberReady?: number; desiredNumberScheduled?: number } };
    const { numberReady = 0, desiredNumberScheduled = 0 } = ds.status;
    return desiredNumberScheduled > 0 && numberReady === desiredNumberScheduled ? true : undefined;
  });
}
