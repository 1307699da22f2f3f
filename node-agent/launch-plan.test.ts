import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inheritedEnv, launchPlan, spareQueueProxyPlan } from './launch-plan.js';
import { rawConfigFromEnv } from '../lib/config.js';
import type { LaunchInput, LaunchPlan } from './launch-plan.js';
import { parseFunctionDefinition } from '../lib/function-spec.js';

function input(spec: object, overrides: Partial<LaunchInput> = {}): LaunchInput {
  return {
    instance: 'hello-1',
    namespace: 'default',
    function: 'hello',
    ip: '127.0.5.9',
    definition: parseFunctionDefinition({ apiVersion: 'sluice.dev/v1alpha1', kind: 'Function', metadata: { name: 'hello' }, spec }, 'test'),
    queueProxyScript: '/opt/sluice/dist/queue-proxy/main.js',
    autoscalerAddress: '127.0.0.1:8090',
    drainTimeoutMs: 30_000,
    logDir: '/logs',
    workDir: '/work',
    baseEnv: { PATH: '/usr/bin', SLUICE_NODE_AGENT_INDEX: '5', SLUICE_LOG_LEVEL: 'debug' },
    nodeBinary: '/usr/local/bin/node',
    node: 'node-5',
    xdt: { keyFile: '', socketDir: '/run/xdt', drainTimeoutMs: 120_000, activatorUrl: '' },
    ...overrides,
  };
}

test('launchPlan', () => {
  const xdtOn = { keyFile: '/keys/xdt.key', socketDir: '/run/xdt', drainTimeoutMs: 120_000, activatorUrl: 'http://127.0.0.1:8080' };
  const rows: Array<{ name: string; input: LaunchInput; want: (plan: LaunchPlan) => void }> = [
    {
      name: 'XDT on: the queue-proxy gets the key file, its peer port, a socket named by its IP, the node; the function gets the socket and the ingress',
      input: input({ container: { command: ['node', 'server.js'] } }, { xdt: xdtOn, baseEnv: { SLUICE_QUEUE_PROXY_XDT_MODE: 'store-and-forward', SLUICE_QUEUE_PROXY_XDT_PORT: '1' } }),
      want: (plan) => {
        assert.equal(plan.queueProxyConfig['xdt-key-file'], '/keys/xdt.key');
        assert.equal(plan.queueProxyConfig['xdt-port'], '8013', 'the fixed port wins over cluster-wide settings');
        assert.equal(plan.queueProxyConfig['xdt-socket'], '/run/xdt/127.0.5.9.sock');
        assert.equal(plan.queueProxyConfig['xdt-mode'], 'store-and-forward', 'cluster-wide XDT settings reach the queue-proxy');
        assert.equal(plan.queueProxyConfig['xdt-drain-timeout'], '2m');
        assert.equal(plan.queueProxyConfig.node, 'node-5');
        assert.equal(plan.functionServer.env.SLUICE_XDT_SOCKET, '/run/xdt/127.0.5.9.sock');
        assert.equal(plan.functionServer.env.SLUICE_ACTIVATOR_URL, 'http://127.0.0.1:8080');
        assert.equal(plan.functionServer.env.SLUICE_QUEUE_PROXY_XDT_MODE, undefined, 'queue-proxy settings stay out of the function');
      },
    },
    {
      name: 'PM on the node: functions get its directory and the agent address, the queue-proxy asks it for admission',
      input: input({ container: { command: ['node', 'server.js'] } }, { pm: { dir: '/dev/shm/sluice-pm/node-5', address: '127.0.5.1:8070' } }),
      want: (plan) => {
        assert.equal(plan.functionServer.env.SLUICE_PM_DIR, '/dev/shm/sluice-pm/node-5');
        assert.equal(plan.functionServer.env.SLUICE_PM_ADDRESS, '127.0.5.1:8070');
        assert.equal(plan.queueProxyConfig['pm-address'], '127.0.5.1:8070');
        assert.equal(plan.queueProxy.env.SLUICE_QUEUE_PROXY_PM_ADDRESS, '127.0.5.1:8070');
      },
    },
    {
      name: 'same-node fast path and flow reports: the queue-proxy gets the node shared-memory directory and the agent address, the function neither',
      input: input({ container: { command: ['node', 'server.js'] } }, { xdt: { ...xdtOn, shmDir: '/dev/shm/sluice-xdt/node-5' }, nodeAgentAddress: '127.0.5.1:8070' }),
      want: (plan) => {
        assert.equal(plan.queueProxyConfig['xdt-shm-dir'], '/dev/shm/sluice-xdt/node-5');
        assert.equal(plan.queueProxyConfig['node-agent-address'], '127.0.5.1:8070');
        assert.equal(plan.queueProxy.env.SLUICE_QUEUE_PROXY_XDT_SHM_DIR, '/dev/shm/sluice-xdt/node-5');
        assert.ok(!Object.values(plan.functionServer.env).includes('/dev/shm/sluice-xdt/node-5'), 'user code must not learn the directory');
      },
    },
    {
      name: 'XDT off: no key, no socket, nothing for the SDK',
      input: input({ container: { command: ['node', 'server.js'] } }),
      want: (plan) => {
        assert.equal(plan.queueProxyConfig['xdt-key-file'], undefined);
        assert.equal(plan.functionServer.env.SLUICE_XDT_SOCKET, undefined);
        assert.equal(plan.queueProxyConfig['xdt-shm-dir'], undefined);
      },
    },
    {
      name: 'node command uses this Node.js; args follow the command',
      input: input({ container: { command: ['node', 'server.js'], args: ['--fast'] } }),
      want: (plan) => {
        assert.equal(plan.functionServer.command, '/usr/local/bin/node');
        assert.deepEqual(plan.functionServer.args, ['server.js', '--fast']);
        assert.equal(plan.functionServer.cwd, '/work');
        assert.equal(plan.functionServer.logFile, '/logs/hello-1.function.log');
      },
    },
    {
      name: 'other commands run as given',
      input: input({ container: { command: ['python3', '-m', 'server'] } }),
      want: (plan) => assert.deepEqual([plan.functionServer.command, plan.functionServer.args], ['python3', ['-m', 'server']]),
    },
    {
      name: 'function env: inherited PATH, spec env, then platform variables',
      input: input({ container: { command: ['node', 's.js'], port: 9000, env: [{ name: 'A', value: '1' }, { name: 'HOST', value: 'x' }] } }),
      want: (plan) =>
        assert.deepEqual(plan.functionServer.env, {
          PATH: '/usr/bin',
          SLUICE_LOG_LEVEL: 'debug',
          A: '1',
          HOST: '127.0.5.9',
          PORT: '9000',
          SLUICE_NAMESPACE: 'default',
          SLUICE_FUNCTION: 'hello',
          SLUICE_INSTANCE: 'hello-1',
        }),
    },
    {
      name: 'queue-proxy runs the script with the queue-proxy config keys',
      input: input(
        { container: { command: ['node', 's.js'], readinessPath: '/healthz' }, containerConcurrency: 10, timeoutSeconds: 60 },
        { drainTimeoutMs: 1_500, autoscalerAddress: '' },
      ),
      want: (plan) => {
        assert.equal(plan.queueProxy.command, '/usr/local/bin/node');
        assert.deepEqual(plan.queueProxy.args, ['/opt/sluice/dist/queue-proxy/main.js']);
        assert.equal(plan.queueProxy.logFile, '/logs/hello-1.queue-proxy.log');
        assert.deepEqual(plan.queueProxy.env, {
          PATH: '/usr/bin',
          SLUICE_LOG_LEVEL: 'debug',
          SLUICE_QUEUE_PROXY_NAMESPACE: 'default',
          SLUICE_QUEUE_PROXY_FUNCTION: 'hello',
          SLUICE_QUEUE_PROXY_INSTANCE: 'hello-1',
          SLUICE_QUEUE_PROXY_BIND_ADDRESS: '127.0.5.9',
          SLUICE_QUEUE_PROXY_TRAFFIC_PORT: '8012',
          SLUICE_QUEUE_PROXY_ADMIN_PORT: '8022',
          SLUICE_QUEUE_PROXY_METRICS_PORT: '9091',
          SLUICE_QUEUE_PROXY_USER_HOST: '127.0.5.9',
          SLUICE_QUEUE_PROXY_USER_PORT: '8080',
          SLUICE_QUEUE_PROXY_CONTAINER_CONCURRENCY: '10',
          SLUICE_QUEUE_PROXY_TIMEOUT: '60s',
          SLUICE_QUEUE_PROXY_READINESS_PATH: '/healthz',
          SLUICE_QUEUE_PROXY_AUTOSCALER_ADDRESS: '',
          SLUICE_QUEUE_PROXY_DRAIN_TIMEOUT: '1500ms',
          SLUICE_QUEUE_PROXY_NODE: 'node-5',
        });
      },
    },
    {
      name: 'the config a warm spare gets on stdin is the env config',
      input: input({ container: { command: ['node', 's.js'] } }),
      want: (plan) => assert.deepEqual(plan.queueProxyConfig, rawConfigFromEnv('QUEUE_PROXY', plan.queueProxy.env)),
    },
  ];
  for (const row of rows) {
    try {
      row.want(launchPlan(row.input));
    } catch (err) {
      (err as Error).message = `${row.name}: ${(err as Error).message}`;
      throw err;
    }
  }
});

test('spareQueueProxyPlan: the queue-proxy awaiting its config on stdin, logging to the spare log', () => {
  assert.deepEqual(spareQueueProxyPlan(input({ container: { command: ['node', 's.js'] } })), {
    command: '/usr/local/bin/node',
    args: ['/opt/sluice/dist/queue-proxy/main.js'],
    env: { PATH: '/usr/bin', SLUICE_LOG_LEVEL: 'debug', SLUICE_QUEUE_PROXY_AWAIT_CONFIG: 'stdin' },
    cwd: '/work',
    logFile: '/logs/warm-queue-proxies.log',
  });
});

test('launchPlan refuses bad instance names and missing commands', () => {
  assert.throws(() => launchPlan(input({ container: { command: ['node'] } }, { instance: '../etc' })), /instance name "..\/etc" must be a DNS subdomain/);
  assert.throws(() => launchPlan(input({ container: { image: 'x' } })), /default\/hello: spec.container.command is required on the local platform/);
});

test('inheritedEnv drops the agent settings but keeps the log level', () => {
  assert.deepEqual(inheritedEnv({ PATH: '/bin', SLUICE_NODE_AGENT_NAME: 'n', SLUICE_QUEUE_PROXY_X: '1', SLUICE_LOG_LEVEL: 'warn', U: undefined }), {
    PATH: '/bin',
    SLUICE_LOG_LEVEL: 'warn',
  });
});
