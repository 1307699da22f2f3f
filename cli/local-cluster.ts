// Starts the local platform: the platform API in this process, and the scheduler, autoscaler, node agents and activator as child processes.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { generateClusterKey } from '../lib/xdt/reference.js';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { commandLine, spawnOwned, tailFile, terminate, type CommandWrapper } from '../lib/process.js';
import { freePort, waitForHttpOk } from '../lib/net.js';
import type { Logger } from '../lib/logger.js';
import { FunctionSpecError, type FunctionDefinition } from '../lib/function-spec.js';
import { LocalController, DEFAULT_CONTROLLER_OPTIONS } from '../lib/platform/local/controller.js';
import { createNodeAgentClient, createSchedulerClient } from '../lib/platform/local/node-agent-client.js';
import { startLocalPlatformServer, type LocalPlatformServer } from '../lib/platform/local/server.js';
import { componentMain, type ComponentName } from './components.js';

export interface LocalClusterOptions {
  functions: FunctionDefinition[];
  /** Directory relative function commands resolve against (the functions file's directory). */
  workDir: string;
  nodes: number;
  /** Activator port; 0 = any free port. */
  port: number;
  /** Loopback subnet of node 1 (127.0.<base>.0/24); node i uses base + i − 1. */
  subnetBase: number;
  domain: string;
  logDir?: string;
  /** Extra environment for every component (e.g. SLUICE_AUTOSCALER_TICK_INTERVAL). */
  env?: NodeJS.ProcessEnv;
  /** Milliseconds to wait for every component to come up. */
  startTimeoutMs?: number;
  /** Address the control plane (activator, autoscaler, scheduler, platform) listens on; default 127.0.0.1. */
  host?: string;
  /**
   * Where node i (0-based) runs: its address range and a wrapper for its agent's command line (e.g. `ip netns
   * exec`), for benchmarks on a shaped network. Default: this host, range 127.0.<subnetBase + i>.
   */
  nodePlacement?: (i: number) => NodePlacement;
  logger: Logger;
}

export interface LocalCluster {
  ingressUrl: string;
  activatorAdminUrl: string;
  platformAddress: string;
  autoscalerAddress: string;
  domain: string;
  logDir: string;
  controller: LocalController;
  /** Resolves with a description when a component exits on its own. */
  componentExit: Promise<string>;
  stop(): Promise<void>;
}

export interface NodePlacement {
  /** First three octets of the node's /24; its agent listens on .1. */
  subnet: string;
  wrap: CommandWrapper;
}

interface RunningComponent {
  name: string;
  child: ChildProcess;
  logFile: string;
}

/** Checks what the local platform needs beyond the schema: a command to run. */
export function checkLocalPlatformFunctions(functions: readonly FunctionDefinition[], file: string): void {
  const missing = functions.filter((f) => !f.spec.container.command);
  if (missing.length > 0) {
    throw new FunctionSpecError(
      missing
        .map((f) => `${file} (Function "${f.metadata.name}"): spec.container.command is required on the local platform (an image alone needs Kubernetes)`)
        .join('\n'),
    );
  }
}

export function defaultLogDir(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return path.join(os.tmpdir(), `sluice-${stamp}-${process.pid}`);
}

export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const { logger } = options;
  const logDir = options.logDir ?? defaultLogDir();
  mkdirSync(logDir, { recursive: true });
  const host = options.host ?? '127.0.0.1';
  const [platformPort, autoscalerPort, schedulerPort, activatorAdminPort, autoscalerMetricsPort] = await Promise.all([
    freePort(host),
    freePort(host),
    freePort(host),
    freePort(host),
    freePort(host),
  ]);
  const activatorPort = options.port === 0 ? await freePort(host) : options.port;
  const platformAddress = `${host}:${platformPort}`;
  const autoscalerAddress = `${host}:${autoscalerPort}`;
  const schedulerAddress = `${host}:${schedulerPort}`;
  const ingressUrl = `http://${host}:${activatorPort}`;

  // The cluster's XDT key: only trusted components read it (0600): the queue-proxies, and the activator for
  // locality-aware routing. Sockets live in a short path (Unix sockets allow ~107 bytes).
  const xdtKeyFile = path.join(logDir, 'xdt.key');
  writeFileSync(xdtKeyFile, generateClusterKey().toString('base64url'), { mode: 0o600 });
  const xdtSocketRoot = mkdtempSync(path.join(os.tmpdir(), 'sluice-xdt-'));

  const components: RunningComponent[] = [];
  let stopping = false;
  let reportExit: (why: string) => void = () => undefined;
  const componentExit = new Promise<string>((resolve) => {
    reportExit = resolve;
  });
  let firstExit: string | undefined;

  const spawnComponent = (name: string, component: ComponentName, env: Record<string, string>, placement?: NodePlacement): RunningComponent => {
    const logFile = path.join(logDir, `${name}.log`);
    const line = commandLine(process.execPath, [componentMain(component)], placement?.wrap);
    const child = spawnOwned(line.command, line.args, {
      env: { ...process.env, ...options.env, ...env },
      logFile,
    });
    const running = { name, child, logFile };
    child.once('exit', (code, signal) => {
      if (stopping) return;
      const why = `${name} exited unexpectedly (${signal ?? `code ${code}`}); its log ${logFile} ends with:\n${tailFile(logFile, 15)}`;
      firstExit ??= why;
      reportExit(why);
    });
    components.push(running);
    return running;
  };

  const controller = new LocalController(createSchedulerClient(schedulerAddress), logger, DEFAULT_CONTROLLER_OPTIONS);
  let platformServer: LocalPlatformServer | undefined;

  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    // No more reconciling: instances going away now must not be replaced.
    controller.close();
    const byName = (prefix: string): RunningComponent[] => components.filter((c) => c.name.startsWith(prefix));
    // The ingress first (it drains in-flight requests), then the instances with their nodes, then the rest.
    await Promise.all(byName('activator').map((c) => terminate(c.child, 35_000)));
    await Promise.all(byName('node-').map((c) => terminate(c.child, 40_000)));
    await Promise.all([...byName('autoscaler'), ...byName('scheduler')].map((c) => terminate(c.child, 5_000)));
    await platformServer?.close();
    rmSync(xdtSocketRoot, { recursive: true, force: true });
  };

  try {
    platformServer = await startLocalPlatformServer(controller, platformAddress, { ingressUrl });
    spawnComponent('scheduler', 'scheduler', { SLUICE_SCHEDULER_GRPC_ADDRESS: schedulerAddress });
    spawnComponent('autoscaler', 'autoscaler', {
      SLUICE_AUTOSCALER_GRPC_ADDRESS: autoscalerAddress,
      SLUICE_AUTOSCALER_PLATFORM_ADDRESS: platformAddress,
      SLUICE_AUTOSCALER_METRICS_PORT: String(autoscalerMetricsPort),
    });
    const nodeAddresses: string[] = [];
    for (let i = 0; i < options.nodes; i++) {
      const index = options.subnetBase + i;
      const name = `node-${i + 1}`;
      const placement = options.nodePlacement?.(i);
      const subnet = placement?.subnet ?? `127.0.${index}`;
      spawnComponent(name, 'node-agent', {
        SLUICE_NODE_AGENT_SUBNET: subnet,
        SLUICE_NODE_AGENT_NAME: name,
        SLUICE_NODE_AGENT_INDEX: String(index),
        SLUICE_NODE_AGENT_GRPC_PORT: '8070',
        SLUICE_NODE_AGENT_AUTOSCALER_ADDRESS: autoscalerAddress,
        SLUICE_NODE_AGENT_LOG_DIR: logDir,
        SLUICE_NODE_AGENT_WORK_DIR: options.workDir,
        SLUICE_NODE_AGENT_LABELS: `sluice.dev/node=${name}`,
        SLUICE_NODE_AGENT_XDT_KEY_FILE: xdtKeyFile,
        SLUICE_NODE_AGENT_XDT_SOCKET_DIR: path.join(xdtSocketRoot, name),
        SLUICE_NODE_AGENT_ACTIVATOR_URL: ingressUrl,
      }, placement);
      nodeAddresses.push(`${subnet}.1:8070`);
    }
    spawnComponent('activator', 'activator', {
      SLUICE_ACTIVATOR_HOST: host,
      SLUICE_ACTIVATOR_PORT: String(activatorPort),
      SLUICE_ACTIVATOR_ADMIN_PORT: String(activatorAdminPort),
      SLUICE_ACTIVATOR_DOMAIN: options.domain,
      SLUICE_ACTIVATOR_PLATFORM_ADDRESS: platformAddress,
      SLUICE_ACTIVATOR_AUTOSCALER_ADDRESS: autoscalerAddress,
      // Locality-aware routing; SLUICE_ACTIVATOR_XDT_KEY_FILE="" in the environment turns it off.
      SLUICE_ACTIVATOR_XDT_KEY_FILE: options.env?.SLUICE_ACTIVATOR_XDT_KEY_FILE ?? process.env.SLUICE_ACTIVATOR_XDT_KEY_FILE ?? xdtKeyFile,
    });
    const timeoutMs = options.startTimeoutMs ?? 20_000;
    const failure = new Promise<never>((_, reject) => {
      void componentExit.then((why) => reject(new Error(why)));
    });
    await Promise.race([
      failure,
      Promise.all(nodeAddresses.map((address) => controller.addNode(createNodeAgentClient(address), timeoutMs))),
    ]);
    controller.applyFunctions(options.functions);
    await Promise.race([failure, waitForHttpOk(`http://${host}:${activatorAdminPort}/ready`, { timeoutMs, intervalMs: 25, giveUp: () => firstExit })]);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    ingressUrl,
    activatorAdminUrl: `http://${host}:${activatorAdminPort}`,
    platformAddress,
    autoscalerAddress,
    domain: options.domain,
    logDir,
    controller,
    componentExit,
    stop,
  };
}
