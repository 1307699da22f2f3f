// LocalPlatformClient against the real local platform server: watches reconnect and report what was deleted meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseFunctionsYaml } from '../function-spec.js';
import { silentLogger } from '../logger.js';
import { freePort } from '../net.js';
import { LocalController } from './local/controller.js';
import { createSchedulerClient } from './local/node-agent-client.js';
import { startLocalPlatformServer } from './local/server.js';
import { LocalPlatformClient } from './local-client.js';
import type { FunctionEndpoints, FunctionEvent } from './types.js';

const fn = (name: string): string =>
  `---\napiVersion: sluice.dev/v1alpha1\nkind: Function\nmetadata:\n  name: ${name}\nspec:\n  container:\n    command: [node, x.js]\n`;

async function serve(names: string[], address: string) {
  // The scheduler is never called: these functions stay at zero instances.
  const controller = new LocalController(createSchedulerClient('127.0.0.1:1'), silentLogger());
  controller.applyFunctions(parseFunctionsYaml(names.map(fn).join(''), 'test.yaml'));
  const server = await startLocalPlatformServer(controller, address, { ingressUrl: 'http://127.0.0.1:1' });
  return {
    close: async () => {
      await server.close();
      controller.close();
    },
  };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await sleep(50);
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('after a reconnect, functions and endpoints deleted during the gap are reported as deleted', async () => {
  const address = `127.0.0.1:${await freePort()}`;
  let platform = await serve(['keep', 'gone'], address);
  const client = new LocalPlatformClient(address, silentLogger());
  const functionEvents: FunctionEvent[] = [];
  const endpointUpdates: FunctionEndpoints[] = [];
  client.watchFunctions((e) => functionEvents.push(e));
  client.watchEndpoints((u) => endpointUpdates.push(u));
  try {
    await until(() => functionEvents.length === 2 && endpointUpdates.length === 2, 'the initial lists');
    assert.deepEqual(functionEvents.map((e) => `${e.type} ${e.fn.name}`).sort(), ['added gone', 'added keep']);

    // The platform restarts without "gone": the watches reconnect to a list that lacks it.
    await platform.close();
    platform = await serve(['keep'], address);
    await until(() => functionEvents.some((e) => e.type === 'deleted'), 'a deleted event');
    const deleted = functionEvents.filter((e) => e.type === 'deleted').map((e) => e.fn.name);
    assert.deepEqual(deleted, ['gone']);
    await until(() => endpointUpdates.some((u) => u.deleted), 'deleted endpoints');
    assert.deepEqual(endpointUpdates.filter((u) => u.deleted).map((u) => u.function), ['gone']);
  } finally {
    await client.close();
    await platform.close();
  }
});
