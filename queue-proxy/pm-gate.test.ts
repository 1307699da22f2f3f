// The queue-proxy's link to PM admission: a node agent that answers only after the queue-proxy started is still
// found (real gRPC, a real node PM service with an emulated device).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { bindServer, grpc, loadPmProto, SERVER_OPTIONS } from '../lib/grpc.js';
import { silentLogger } from '../lib/logger.js';
import { freePort } from '../lib/net.js';
import { defaultConfig } from '../node-agent/config.js';
import { startNodePm } from '../node-agent/pm/start.js';
import { PmGateConnection } from './pm-gate.js';

test('an agent unreachable at first is asked again until it answers; then writers are admitted through it', async (t) => {
  const port = await freePort('127.0.0.1');
  const address = `127.0.0.1:${port}`;
  const connection = new PmGateConnection(address, 'default', 'writer', silentLogger(), { initialMs: 50, maxMs: 100 });
  t.after(() => connection.close());
  assert.equal(await connection.current(), undefined, 'no agent yet: no admission, and the request is not held');

  const dir = mkdtempSync(path.join(os.tmpdir(), 'pm-gate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pm = await startNodePm(
    { ...defaultConfig().pm, mode: 'emulated', writerLimit: 2, dir, stateFile: path.join(dir, 'profiles.json') },
    { node: 'node-1', logger: silentLogger(), registry: new Registry() },
  );
  assert.ok(pm);
  const server = new grpc.Server(SERVER_OPTIONS);
  server.addService(loadPmProto().sluice.pm.v1.PmNode.service, pm.handlers);
  await bindServer(server, address);
  t.after(async () => {
    server.forceShutdown();
    await pm.close();
  });

  const deadline = Date.now() + 5_000;
  let gate = await connection.current();
  while (!gate && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    gate = await connection.current();
  }
  assert.ok(gate, 'the gate never found the agent that started late');
  assert.equal(gate.writerLimit, 2);
  const ticket = await gate.admit(1_000);
  ticket.release();
});
