// What to run for one instance (pure): the function server's and the queue-proxy's command, arguments, env and log file.
import path from 'node:path';
import { formatDurationMs } from '../lib/config.js';
import { FUNCTION_DEFAULTS } from '../lib/function-spec.js';
import type { FunctionDefinition } from '../lib/function-spec.js';
import { SluiceError } from '../lib/errors.js';
import { QUEUE_PROXY_ADMIN_PORT, QUEUE_PROXY_METRICS_PORT, QUEUE_PROXY_TRAFFIC_PORT, QUEUE_PROXY_XDT_PORT, queueProxyEnvName } from '../lib/queue-proxy-launch.js';
export { QUEUE_PROXY_ADMIN_PORT, QUEUE_PROXY_METRICS_PORT, QUEUE_PROXY_TRAFFIC_PORT, QUEUE_PROXY_XDT_PORT, queueProxyEnvName };

export interface ProcessPlan {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  logFile: string;
}

export interface LaunchPlan {
  functionServer: ProcessPlan;
  queueProxy: ProcessPlan;
  /** The queue-proxy's settings as kebab-case keys: what a warm spare gets on stdin (with log-file) instead of the env. */
  queueProxyConfig: Record<string, string>;
}

export interface LaunchInput {
  instance: string;
  namespace: string;
  function: string;
  ip: string;
  definition: FunctionDefinition;
  queueProxyScript: string;
  autoscalerAddress: string;
  drainTimeoutMs: number;
  logDir: string;
  workDir: string;
  /** The agent's environment; SLUICE_* settings of the agent itself are not passed on. */
  baseEnv: NodeJS.ProcessEnv;
  /** The Node.js binary used for "node" commands and the queue-proxy (process.execPath). */
  nodeBinary: string;
  /** Node name (sealed into XDT references). */
  node: string;
  /** XDT: "" keyFile = off; "" shmDir = every pull over TCP (no same-node fast path). */
  xdt: { keyFile: string; socketDir: string; drainTimeoutMs: number; activatorUrl: string; shmDir?: string };
  /** The node agent's gRPC address (its FlowProfile takes the queue-proxy's XDT flow reports); "" or absent = none. */
  nodeAgentAddress?: string;
  /** The node's PM: functions get the directory and the agent's address (device timing, usage); the queue-proxy asks it for admission. */
  pm?: { dir: string; address: string };
}

/** Instance names become file names and process labels: DNS-1123 subdomains only. */
export const INSTANCE_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** PATH, HOME and the like so commands resolve, without the agent's own SLUICE_* settings (SLUICE_LOG_LEVEL excepted). */
export function inheritedEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (key.startsWith('SLUICE_') && key !== 'SLUICE_LOG_LEVEL') continue;
    out[key] = value;
  }
  return out;
}

export function launchPlan(input: LaunchInput): LaunchPlan {
  const { definition, instance } = input;
  if (!INSTANCE_NAME.test(instance) || instance.length > 253) {
    throw new SluiceError('BAD_REQUEST', `instance name "${instance}" must be a DNS subdomain (lowercase letters, digits, "-", ".")`);
  }
  const container = definition.spec.container;
  const command = container.command;
  if (!command || command.length === 0) {
    throw new SluiceError('BAD_REQUEST', `${input.namespace}/${input.function}: spec.container.command is required on the local platform`);
  }
  const port = container.port ?? FUNCTION_DEFAULTS.port;
  const base = inheritedEnv(input.baseEnv);

  const functionEnv: Record<string, string> = { ...base };
  for (const { name, value } of container.env ?? []) functionEnv[name] = value;
  // Platform variables win over the spec, as Knative's PORT does.
  Object.assign(functionEnv, {
    PORT: String(port),
    HOST: input.ip,
    SLUICE_NAMESPACE: input.namespace,
    SLUICE_FUNCTION: input.function,
    SLUICE_INSTANCE: instance,
  });
  const xdtOn = input.xdt.keyFile !== '';
  const xdtSocket = path.join(input.xdt.socketDir, `${input.ip}.sock`);
  if (xdtOn) functionEnv.SLUICE_XDT_SOCKET = xdtSocket;
  if (input.xdt.activatorUrl !== '') functionEnv.SLUICE_ACTIVATOR_URL = input.xdt.activatorUrl;
  if (input.pm) {
    functionEnv.SLUICE_PM_DIR = input.pm.dir;
    functionEnv.SLUICE_PM_ADDRESS = input.pm.address;
  }

  const queueProxyConfig: Record<string, string> = {
    namespace: input.namespace,
    function: input.function,
    instance,
    'bind-address': input.ip,
    'traffic-port': String(QUEUE_PROXY_TRAFFIC_PORT),
    'admin-port': String(QUEUE_PROXY_ADMIN_PORT),
    'metrics-port': String(QUEUE_PROXY_METRICS_PORT),
    'user-host': input.ip,
    'user-port': String(port),
    'container-concurrency': String(definition.spec.containerConcurrency ?? FUNCTION_DEFAULTS.containerConcurrency),
    timeout: `${definition.spec.timeoutSeconds ?? FUNCTION_DEFAULTS.timeoutSeconds}s`,
    'readiness-path': container.readinessPath ?? '',
    'autoscaler-address': input.autoscalerAddress,
    'drain-timeout': formatDurationMs(input.drainTimeoutMs),
    node: input.node,
  };
  if (input.pm) queueProxyConfig['pm-address'] = input.pm.address;
  if (input.nodeAgentAddress) queueProxyConfig['node-agent-address'] = input.nodeAgentAddress;
  if (xdtOn) {
    // Cluster-wide XDT tuning (SLUICE_QUEUE_PROXY_XDT_* in the agent's env) first; the instance's own settings win.
    Object.assign(queueProxyConfig, xdtSettingsFromEnv(input.baseEnv), {
      'xdt-key-file': input.xdt.keyFile,
      'xdt-port': String(QUEUE_PROXY_XDT_PORT),
      'xdt-socket': xdtSocket,
      'xdt-drain-timeout': formatDurationMs(input.xdt.drainTimeoutMs),
    });
    if (input.xdt.shmDir) queueProxyConfig['xdt-shm-dir'] = input.xdt.shmDir;
  }
  const queueProxyEnv: Record<string, string> = { ...base };
  for (const [key, value] of Object.entries(queueProxyConfig)) queueProxyEnv[queueProxyEnvName(key)] = value;

  return {
    functionServer: {
      command: command[0] === 'node' ? input.nodeBinary : command[0],
      args: [...command.slice(1), ...(container.args ?? [])],
      env: functionEnv,
      cwd: input.workDir,
      logFile: path.join(input.logDir, `${instance}.function.log`),
    },
    queueProxy: {
      command: input.nodeBinary,
      args: [input.queueProxyScript],
      env: queueProxyEnv,
      cwd: input.workDir,
      logFile: path.join(input.logDir, `${instance}.queue-proxy.log`),
    },
    queueProxyConfig,
  };
}

/** SLUICE_QUEUE_PROXY_XDT_MODE=store-and-forward → { "xdt-mode": "store-and-forward" }: XDT settings every queue-proxy of the node gets. */
export function xdtSettingsFromEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !name.startsWith('SLUICE_QUEUE_PROXY_XDT_')) continue;
    out[name.slice('SLUICE_QUEUE_PROXY_'.length).toLowerCase().replaceAll('_', '-')] = value;
  }
  return out;
}


export type SpareInput = Pick<LaunchInput, 'queueProxyScript' | 'logDir' | 'workDir' | 'baseEnv' | 'nodeBinary'>;

/** Where warm spare queue-proxies log until they get an instance (never an instance's file: those end in .function.log or .queue-proxy.log). */
export const SPARE_QUEUE_PROXY_LOG = 'warm-queue-proxies.log';

/** A warm spare queue-proxy: no instance settings, it waits for them on stdin (SLUICE_QUEUE_PROXY_AWAIT_CONFIG=stdin). */
export function spareQueueProxyPlan(input: SpareInput): ProcessPlan {
  return {
    command: input.nodeBinary,
    args: [input.queueProxyScript],
    env: { ...inheritedEnv(input.baseEnv), SLUICE_QUEUE_PROXY_AWAIT_CONFIG: 'stdin' },
    cwd: input.workDir,
    logFile: path.join(input.logDir, SPARE_QUEUE_PROXY_LOG),
  };
}
