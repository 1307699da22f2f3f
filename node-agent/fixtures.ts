// Helpers for the node agent tests: test configs, Function specs, gRPC watch collection and process lookup in /proc.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLIENT_OPTIONS, grpc, loadNodeAgentProto } from '../lib/grpc.js';
import { defaultConfig } from './config.js';
import type { NodeAgentConfig } from './config.js';
import type { NodeAgentClient } from '../protos/generated/sluice/nodeagent/v1/NodeAgent.js';
import type { InstanceEvent__Output } from '../protos/generated/sluice/nodeagent/v1/InstanceEvent.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** node-agent/testdata, from sources or from dist/node-agent. */
export const TESTDATA = HERE.includes(`${path.sep}dist${path.sep}`) ? path.resolve(HERE, '../../node-agent/testdata') : path.join(HERE, 'testdata');
export const FAKE_QUEUE_PROXY = path.join(TESTDATA, 'fake-queue-proxy.mjs');
export const REPO_ROOT = HERE.includes(`${path.sep}dist${path.sep}`) ? path.resolve(HERE, '../..') : path.resolve(HERE, '..');

/** A config for node `index` (use 200+ so tests never clash with a running cluster) with its own temporary log dir. */
export function testConfig(index: number, overrides: Partial<NodeAgentConfig> = {}): { config: NodeAgentConfig; cleanup: () => void } {
  const logDir = mkdtempSync(path.join(os.tmpdir(), `sluice-node-agent-test-${index}-`));
  const config: NodeAgentConfig = {
    ...defaultConfig(),
    name: `test-node-${index}`,
    index,
    subnet: `127.0.${index}`,
    grpcPort: 0,
    queueProxyScript: FAKE_QUEUE_PROXY,
    autoscalerAddress: '',
    logDir,
    workDir: TESTDATA,
    drainTimeoutMs: 2_000,
    // Tests of warm spares opt in; the others count the processes they start.
    warmQueueProxies: 0,
    // PM tests opt in: a calibration sweep at every start would only slow the others down.
    pm: { ...defaultConfig().pm, mode: 'off' },
    ...overrides,
  };
  return { config, cleanup: () => rmSync(logDir, { recursive: true, force: true }) };
}

export function functionSpecJson(options: { name?: string; command?: string[]; env?: Record<string, string>; extra?: object } = {}): string {
  return JSON.stringify({
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Function',
    metadata: { name: options.name ?? 'hello', namespace: 'default' },
    spec: {
      container: {
        command: options.command ?? ['node', 'http-server.mjs'],
        env: Object.entries(options.env ?? {}).map(([name, value]) => ({ name, value })),
      },
      ...options.extra,
    },
  });
}

export function nodeAgentClient(address: string): NodeAgentClient {
  return new (loadNodeAgentProto().sluice.nodeagent.v1.NodeAgent)(address, grpc.credentials.createInsecure(), CLIENT_OPTIONS);
}

export function unaryCall<Res>(invoke: (options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => {
    invoke({ deadline: Date.now() + 15_000 }, (err, res) => (err || res === undefined ? reject(err ?? new Error('empty response')) : resolve(res)));
  });
}

export async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Collects the events of one WatchInstances stream. */
export class WatchCollector {
  readonly events: InstanceEvent__Output[] = [];
  private readonly stream: grpc.ClientReadableStream<InstanceEvent__Output>;

  constructor(client: NodeAgentClient) {
    this.stream = client.WatchInstances({});
    this.stream.on('data', (event: InstanceEvent__Output) => this.events.push(event));
    this.stream.on('error', () => undefined);
  }

  /** "TYPE/PHASE" of each event for `instance`, e.g. "EVENT_TYPE_ADDED/INSTANCE_PHASE_STARTING". */
  history(instance: string): string[] {
    return this.events.filter((e) => e.instance?.name === instance).map((e) => `${e.type}/${e.instance?.phase}`);
  }

  waitFor(what: string, predicate: (event: InstanceEvent__Output) => boolean, timeoutMs = 10_000): Promise<InstanceEvent__Output> {
    return waitFor(what, () => this.events.find(predicate), timeoutMs);
  }

  close(): void {
    this.stream.cancel();
  }
}

/** Pids of the live processes of an instance, found by the variables the agent set in their environment. */
export function instancePids(instance: string): { functionServer?: number; queueProxy?: number } {
  const out: { functionServer?: number; queueProxy?: number } = {};
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
    } catch {
      continue;
    }
    const vars = environ.split('\0');
    if (vars.includes(`SLUICE_INSTANCE=${instance}`)) out.functionServer = Number(entry);
    if (vars.includes(`SLUICE_QUEUE_PROXY_INSTANCE=${instance}`)) out.queueProxy = Number(entry);
  }
  return out;
}

/** True while the process exists and is not a zombie (an exited child whose parent has not reaped it yet). */
export function isAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return false;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/** Pids of the live (non-zombie) processes whose parent is `parent`. */
export function childPids(parent: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
    } catch {
      continue;
    }
    // Fields after "(comm)": state ppid …
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(ppid) === parent && state !== 'Z' && state !== 'X') out.push(Number(entry));
  }
  return out;
}
