import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { FAKE_QUEUE_PROXY, REPO_ROOT, TESTDATA, childPids, functionSpecJson, instancePids, isAlive, nodeAgentClient, unaryCall, waitFor, WatchCollector } from './fixtures.js';
import type { Instance__Output } from '../protos/generated/sluice/nodeagent/v1/Instance.js';

const INDEX = 203;
const MAIN = path.join(REPO_ROOT, 'dist', 'node-agent', 'main.js');

interface AgentProcess {
  child: ChildProcess;
  address: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs `node dist/node-agent/main.js` and waits for its "listening" log line. */
async function runAgent(logDir: string): Promise<AgentProcess> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      SLUICE_LOG_LEVEL: 'info',
      SLUICE_NODE_AGENT_NAME: `main-test-${INDEX}`,
      SLUICE_NODE_AGENT_INDEX: String(INDEX),
      SLUICE_NODE_AGENT_GRPC_PORT: '0',
      SLUICE_NODE_AGENT_QUEUE_PROXY_SCRIPT: FAKE_QUEUE_PROXY,
      SLUICE_NODE_AGENT_WORK_DIR: TESTDATA,
      SLUICE_NODE_AGENT_LOG_DIR: logDir,
      SLUICE_NODE_AGENT_DRAIN_TIMEOUT: '2s',
      SLUICE_NODE_AGENT_WARM_QUEUE_PROXIES: '1',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const address = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; address?: string };
        if (entry.msg === 'node agent listening' && entry.address) resolve(entry.address);
      } catch {
        // not a log line
      }
    });
    void exit.then(({ code }) => reject(new Error(`agent exited early with code ${code}`)));
  });
  return { child, address, exit };
}

/**
 * Starts two instances (the first takes the warm spare queue-proxy) and returns the pids of the
 * agent's five children once both are READY and a new spare has been spawned: four instance processes and the spare.
 */
async function startInstances(address: string, agentPid: number): Promise<number[]> {
  const client = nodeAgentClient(address);
  const watch = new WatchCollector(client);
  try {
    const names = [`main-a-${process.pid}`, `main-b-${process.pid}`];
    for (const name of names) {
      await unaryCall<Instance__Output>((options, cb) =>
        client.StartInstance({ instance_name: name, namespace: 'default', function: 'hello', function_spec_json: functionSpecJson() }, options, cb),
      );
    }
    for (const name of names) {
      await watch.waitFor(`${name} READY`, (e) => e.instance?.name === name && e.instance.phase === 'INSTANCE_PHASE_READY');
    }
    const functionServers = names.map((name) => instancePids(name).functionServer);
    assert.ok(functionServers.every((pid) => pid !== undefined), `function servers found: ${functionServers.join(', ')}`);
    // The first instance's queue-proxy was a spare: it carries no instance env, so count the agent's children.
    const pids = await waitFor('four instance processes and a new spare', () => {
      const children = childPids(agentPid);
      return children.length === 5 ? children : undefined;
    });
    for (const pid of functionServers) assert.ok(pids.includes(pid!));
    return pids;
  } finally {
    watch.close();
    client.close();
  }
}

test('node agent process: SIGTERM stops every instance and spare and exits 0; SIGKILL takes them with it', async (t) => {
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'sluice-node-agent-main-test-'));
  const running: AgentProcess[] = [];
  t.after(() => {
    for (const agent of running) agent.child.kill('SIGKILL');
    rmSync(logDir, { recursive: true, force: true });
  });

  await t.test('SIGTERM', async () => {
    const agent = await runAgent(logDir);
    running.push(agent);
    assert.match(agent.address, new RegExp(`^127\\.0\\.${INDEX}\\.1:\\d+$`));
    const pids = await startInstances(agent.address, agent.child.pid!);
    agent.child.kill('SIGTERM');
    assert.deepEqual(await agent.exit, { code: 0, signal: null });
    assert.deepEqual(pids.filter(isAlive), [], 'no instance or spare process outlives the agent');
  });

  await t.test('SIGKILL', async () => {
    const agent = await runAgent(logDir);
    running.push(agent);
    const pids = await startInstances(agent.address, agent.child.pid!);
    agent.child.kill('SIGKILL');
    assert.deepEqual(await agent.exit, { code: null, signal: 'SIGKILL' });
    // The kernel delivers the parent-death signal (setpriv --pdeathsig) to each child.
    await waitFor('instance processes to die', () => pids.every((pid) => !isAlive(pid)), 5_000);
  });
});
