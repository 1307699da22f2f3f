// A real Kubernetes control plane as local processes (etcd, kube-apiserver, kube-controller-manager, kube-scheduler)
// for the e2e suite: no containers and no kubelet; nodes are the virtual kubelet's business.
import { execFile, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { canConnect, freePort } from '../../lib/net.js';
import { spawnOwned, tailFile, terminate } from '../../lib/process.js';
import { CertificateAuthority, serviceAccountKeyPair, writeKubeconfig, type CertPaths } from './pki.js';
import { addLocalRoutes, removeLocalRoutes, SERVICE_RANGE } from './routes.js';

const execFileP = promisify(execFile);

export const K8S_VERSION = 'v1.36.3';
/** The apiserver's bind and advertise address: the `kubernetes` Service's endpoint (not loopback, which Endpoints reject). */
export const API_ADDRESS = '10.244.0.1';
export const BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl'] as const;

/** Where build-tools.sh puts the binaries. */
export function defaultBinDir(): string {
  const cache = process.env.SLUICE_E2E_CACHE || path.join(os.homedir(), '.cache/sluice-e2e');
  return path.join(cache, `k8s-${K8S_VERSION}`, 'bin');
}

export interface ControlPlaneOptions {
  /** Defaults to defaultBinDir(). */
  binDir?: string;
  /** The apiserver's secure port: by default 6443, or a free port when 6443 is taken; 0 always picks a free one. */
  port?: number;
  /** Keep the run directory (certs, kubeconfigs, etcd data, logs) after stop(). It is always kept when start fails. */
  keep?: boolean;
  /** Called when a component exits while the control plane is up (not during stop()). */
  onUnexpectedExit?: (name: string, description: string) => void;
}

export interface ControlPlane {
  /** An admin (system:masters) kubeconfig. */
  kubeconfigPath: string;
  /** https://10.244.0.1:<port> */
  server: string;
  caPem: string;
  /** The CA's files, to issue more certificates (e.g. a virtual kubelet's serving cert). */
  ca: CertPaths;
  binDir: string;
  /** The run directory: pki/, kubeconfigs, etcd data, logs/. */
  dir: string;
  logDir: string;
  /** Writes a kubeconfig for user `cn` in groups `orgs` (e.g. system:node:node-1 in system:nodes); returns its path. */
  kubeconfigFor(name: string, cn: string, orgs?: string[]): Promise<string>;
  /** Runs the cluster's kubectl with the admin kubeconfig; resolves to its stdout, rejects naming the command and its stderr. */
  kubectl(...args: string[]): Promise<string>;
  /** Stops the components in reverse start order, removes the routes, and the run directory unless `keep`. */
  stop(): Promise<void>;
  /**
   * Stops kube-apiserver and starts it again with the same flags, resolving once it is ready. Clients'
   * watches break, and a watch resumed from a resourceVersion older than the new watch cache gets
   * 410 Gone: what informers must survive.
   */
  restartApiServer(): Promise<void>;
  /** The last `lines` lines of every component's log, for a failed test's output. */
  dumpLogs(lines?: number): string;
}

/** One component process and how it was started, for error messages. */
interface Component {
  name: string;
  commandLine: string;
  logFile: string;
  child: ChildProcess;
  /** How it exited, once it has. */
  exit?: string;
  /** Stopped on purpose (a restart): its exit is not a failure. */
  retired?: boolean;
}

function quote(args: readonly string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function describe(component: Component, what: string): string {
  return `${component.name} ${what}\ncommand: ${component.commandLine}\nlast lines of ${component.logFile}:\n${tailFile(component.logFile, 30)}`;
}

/** GET over TLS with the admin client cert: readiness and the default ServiceAccount. */
function httpsStatus(url: string, tls: { ca: string; cert: string; key: string }): Promise<number> {
  return new Promise((resolve) => {
    const req = https.get(url, { ...tls, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
  });
}

async function apiserverPort(requested: number | undefined): Promise<number> {
  if (requested !== undefined && requested !== 0) return requested;
  if (requested === undefined && !(await canConnect(API_ADDRESS, 6443, 300))) return 6443;
  return freePort(API_ADDRESS);
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binDir = options.binDir ?? defaultBinDir();
  const missing = BINARIES.filter((b) => !existsSync(path.join(binDir, b)));
  if (missing.length > 0) {
    throw new Error(`missing control-plane binaries in ${binDir}: ${missing.join(', ')}; build them with e2e/control-plane/build-tools.sh`);
  }
  const bin = (name: string): string => path.join(binDir, name);

  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-cp-'));
  const logDir = path.join(dir, 'logs');
  const pkiDir = path.join(dir, 'pki');
  mkdirSync(logDir);
  mkdirSync(pkiDir);
  const components: Component[] = [];
  let stopping = false;
  let keep = options.keep ?? false;
  let routesAdded = false;

  const start = (name: string, command: string, args: string[]): Component => {
    const logFile = path.join(logDir, `${name}.log`);
    const commandLine = quote([command, ...args]);
    appendFileSync(logFile, `$ ${commandLine}\n`); // the log says how the process was started
    const child = spawnOwned(command, args, { env: process.env, logFile });
    const component: Component = { name, commandLine, logFile, child };
    const onGone = (description: string): void => {
      component.exit ??= description;
      if (!stopping && !component.retired) options.onUnexpectedExit?.(name, describe(component, component.exit));
    };
    child.on('exit', (code, signal) => onGone(`exited (${signal ?? `code ${code}`})`));
    child.on('error', (err) => onGone(`could not start: ${err.message}`));
    components.push(component);
    return component;
  };

  /**
   * Polls `ready` until true. Fails when any component started so far exits (naming its command and log), or after
   * `timeoutMs` (naming `component`'s).
   */
  const waitFor = async (component: Component, what: string, timeoutMs: number, ready: () => Promise<boolean>): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!(await ready())) {
      const dead = components.find((c) => c.exit);
      if (dead) throw new Error(describe(dead, `${dead.exit} ${dead === component ? 'before' : `while waiting for ${component.name} to get to`} ${what}`));
      if (Date.now() > deadline) throw new Error(describe(component, `did not get to ${what} within ${timeoutMs / 1000} s`));
      await sleep(200);
    }
  };

  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    for (const c of [...components].reverse()) await terminate(c.child, 10_000);
    if (routesAdded) await removeLocalRoutes();
    if (!keep) rmSync(dir, { recursive: true, force: true });
  };

  try {
    await addLocalRoutes();
    routesAdded = true;
    const port = await apiserverPort(options.port);
    const server = `https://${API_ADDRESS}:${port}`;

    // Certificates: kubeadm's set, less the front proxy (no aggregated APIs here).
    const ca = await CertificateAuthority.create(pkiDir, 'sluice-e2e-ca');
    const [serving, admin, kcm, scheduler, kubeletClient, sa] = await Promise.all([
      ca.issue('apiserver', { cn: 'kube-apiserver' }, [
        `IP:${API_ADDRESS}`, 'IP:127.0.0.1', 'IP:10.96.0.1', 'DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:kubernetes.default.svc',
        'DNS:kubernetes.default.svc.cluster.local', 'DNS:localhost',
      ]),
      ca.issue('admin', { cn: 'admin', orgs: ['system:masters'] }),
      ca.issue('kube-controller-manager', { cn: 'system:kube-controller-manager' }),
      ca.issue('kube-scheduler', { cn: 'system:kube-scheduler' }),
      // For `kubectl logs`/`exec`, should a virtual kubelet serve the kubelet API.
      ca.issue('apiserver-kubelet-client', { cn: 'kube-apiserver-kubelet-client', orgs: ['system:masters'] }),
      serviceAccountKeyPair(pkiDir),
    ]);
    const caPem = ca.pem;
    const kubeconfigPath = path.join(dir, 'admin.kubeconfig');
    writeKubeconfig(kubeconfigPath, server, caPem, 'admin', admin);
    const kcmKubeconfig = path.join(dir, 'kube-controller-manager.kubeconfig');
    writeKubeconfig(kcmKubeconfig, server, caPem, 'system:kube-controller-manager', kcm);
    const schedulerKubeconfig = path.join(dir, 'kube-scheduler.kubeconfig');
    writeKubeconfig(schedulerKubeconfig, server, caPem, 'system:kube-scheduler', scheduler);
    const adminTls = { ca: caPem, cert: readFileSync(admin.cert, 'utf8'), key: readFileSync(admin.key, 'utf8') };

    const etcdClient = await freePort();
    const etcdPeer = await freePort();
    const etcd = start('etcd', bin('etcd'), [
      '--name=default',
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
      '--unsafe-no-fsync', // throwaway data: durability only costs time here
    ]);
    await waitFor(etcd, '/health answering 200', 30_000, async () => {
      const res = await fetch(`http://127.0.0.1:${etcdClient}/health`, { signal: AbortSignal.timeout(1_000) }).catch(() => undefined);
      await res?.body?.cancel();
      return res?.ok === true;
    });

    const apiserverArgs = [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      `--bind-address=${API_ADDRESS}`,
      `--advertise-address=${API_ADDRESS}`,
      `--secure-port=${port}`,
      `--cert-dir=${pkiDir}`,
      `--tls-cert-file=${serving.cert}`,
      `--tls-private-key-file=${serving.key}`,
      `--client-ca-file=${ca.cert}`,
      `--kubelet-client-certificate=${kubeletClient.cert}`,
      `--kubelet-client-key=${kubeletClient.key}`,
      `--service-cluster-ip-range=${SERVICE_RANGE}`,
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction', // on top of the default set, as kubeadm does
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${sa.publicKey}`,
      `--service-account-signing-key-file=${sa.privateKey}`,
      '--allow-privileged=true',
    ];
    const startApiServer = async (): Promise<Component> => {
      const c = start('kube-apiserver', bin('kube-apiserver'), apiserverArgs);
      await waitFor(c, `${server}/readyz answering 200`, 90_000, async () => (await httpsStatus(`${server}/readyz`, adminTls)) === 200);
      return c;
    };
    let apiserver = await startApiServer();

    const controllerManager = start('kube-controller-manager', bin('kube-controller-manager'), [
      `--kubeconfig=${kcmKubeconfig}`,
      '--use-service-account-credentials=true', // each controller acts as its own service account, under RBAC
      `--root-ca-file=${ca.cert}`,
      `--service-account-private-key-file=${sa.privateKey}`,
      `--cluster-signing-cert-file=${ca.cert}`,
      `--cluster-signing-key-file=${ca.key}`,
      '--controllers=*',
      '--leader-elect=false',
      // Node lifecycle stays on: a node is healthy while its kubelet renews its Lease in kube-node-lease (or posts
      // status) within this grace period (the default, spelled out because the virtual kubelet relies on it).
      '--node-monitor-grace-period=50s',
      '--secure-port=0', // no /healthz server: nothing needs it, and it would bind 0.0.0.0:10257
    ]);
    start('kube-scheduler', bin('kube-scheduler'), [
      `--kubeconfig=${schedulerKubeconfig}`,
      '--leader-elect=false',
      '--secure-port=0', // as for the controller-manager (10259)
    ]);
    // The serviceaccount controller makes `default` in every namespace: proof that the controller-manager runs.
    await waitFor(controllerManager, 'creating the default ServiceAccount', 60_000,
      async () => (await httpsStatus(`${server}/api/v1/namespaces/default/serviceaccounts/default`, adminTls)) === 200);

    return {
      kubeconfigPath,
      server,
      caPem,
      ca: { cert: ca.cert, key: ca.key },
      binDir,
      dir,
      logDir,
      async kubeconfigFor(name, cn, orgs = []) {
        const file = path.join(dir, `${name}.kubeconfig`);
        writeKubeconfig(file, server, caPem, cn, await ca.issue(name, { cn, orgs }));
        return file;
      },
      async kubectl(...args) {
        const argv = [`--kubeconfig=${kubeconfigPath}`, ...args];
        try {
          return (await execFileP(bin('kubectl'), argv, { maxBuffer: 64 * 1024 * 1024 })).stdout;
        } catch (err) {
          const e = err as Error & { stderr?: string };
          throw new Error(`${quote([bin('kubectl'), ...argv])} failed: ${e.stderr?.trim() || e.message}`);
        }
      },
      stop,
      async restartApiServer() {
        apiserver.retired = true;
        await terminate(apiserver.child, 10_000);
        components.splice(components.indexOf(apiserver), 1);
        apiserver = await startApiServer();
      },
      dumpLogs(lines = 50) {
        return components.map((c) => `----- ${c.name} (${c.exit ?? 'running'}): ${c.logFile}\n${tailFile(c.logFile, lines)}`).join('\n');
      },
    };
  } catch (err) {
    keep = true; // the logs are the diagnosis
    await stop().catch(() => undefined);
    throw new Error(`${(err as Error).message}\n(control-plane files kept in ${dir})`);
  }
}
