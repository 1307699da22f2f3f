// The shaped namespace topology: naming and shaping parameters, then (as root, with iproute2) a real one: namespaces
// exist, nodes reach each other and the root namespace, a 50 MiB transfer at 1000 Mbit/s takes about 0.42 s, and
// destroy() leaves nothing behind. The live test skips, saying why, only where namespaces cannot be made.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createTopology, ownerPid, parseLinkNames, parseNetnsList, planTopology, tbfArgs, type SpawnArgs } from './netns.js';

test('planTopology: names per node and pid, interface names within 15 characters, addresses from .10', () => {
  const plan = planTopology(['producer', 'consumer', 'storage'], 4_194_304);
  assert.equal(plan.bridge, 'slbr4194304');
  assert.deepEqual(
    plan.nodes.map((n) => [n.namespace, n.address]),
    [
      ['sluice-producer-4194304', '10.213.0.10'],
      ['sluice-consumer-4194304', '10.213.0.11'],
      ['sluice-storage-4194304', '10.213.0.12'],
    ],
  );
  for (const name of [plan.bridge, ...plan.nodes.flatMap((n) => [n.hostVeth, n.peerVeth])]) assert.ok(name.length <= 15, `${name} is too long`);
  assert.equal(new Set(plan.nodes.map((n) => n.hostVeth)).size, 3);
});

test('planTopology: rejects no nodes, duplicates and names unfit for a namespace', () => {
  assert.throws(() => planTopology([], 1), /at least one/);
  assert.throws(() => planTopology(['a', 'a'], 1), /twice/);
  for (const bad of ['Producer', '1st', 'a-b', 'a b', '']) assert.throws(() => planTopology([bad], 1), /lowercase/, bad);
  assert.throws(() => planTopology(Array.from({ length: 245 }, (_, i) => `n${i}`), 1), /at most 244/);
});

test('tbfArgs: rate in mbit, a bucket of 1 ms but at least 64 KiB', () => {
  assert.deepEqual(tbfArgs(10_000), ['tbf', 'rate', '10000mbit', 'burst', '1250000', 'latency', '20ms']);
  assert.deepEqual(tbfArgs(100), ['tbf', 'rate', '100mbit', 'burst', '65536', 'latency', '20ms']);
  assert.throws(() => tbfArgs(0), /positive/);
});

test('parsers and ownerPid: what `ip` prints, and only names this module makes', () => {
  assert.deepEqual(parseNetnsList('sluice-producer-12 (id: 0)\nother\n\n'), ['sluice-producer-12', 'other']);
  assert.deepEqual(
    parseLinkNames('1: lo: <LOOPBACK,UP> mtu 65536\n7: slv12x0@if6: <BROADCAST> mtu 1500 master slbr12\n8: slbr12: <BROADCAST>'),
    ['lo', 'slv12x0', 'slbr12'],
  );
  assert.equal(ownerPid('sluice-producer-12'), 12);
  assert.equal(ownerPid('slbr12'), 12);
  assert.equal(ownerPid('slv12x3'), 12);
  assert.equal(ownerPid('slp12x3'), 12);
  assert.equal(ownerPid('eth0'), undefined);
  assert.equal(ownerPid('sluice-producer'), undefined);
});

function netnsNames(): string[] {
  return parseNetnsList(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }));
}

function linkNames(): string[] {
  return parseLinkNames(execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }));
}

/** Runs `spawn` args, resolving with stdout once the process exits 0. */
async function output(run: SpawnArgs): Promise<string> {
  const child = spawn(run.command, run.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${run.command} ${run.args.join(' ')} exited ${code}: ${err}`);
  return out;
}

const SIZE = 50 * 1024 * 1024;
const RATE_MBIT = 1000;
const PORT = 7001;

/** A client that connects, reads to the end and prints {bytes, ms}. */
function clientScript(host: string): string {
  return `const net = require('node:net'); const t0 = performance.now(); let bytes = 0;
    const c = net.connect(${PORT}, '${host}'); c.on('data', (d) => { bytes += d.length; });
    c.on('end', () => console.log(JSON.stringify({ bytes, ms: performance.now() - t0 })));
    c.on('error', (e) => { console.error(e.message); process.exit(1); });`;
}

test('createTopology: a shaped, reachable network that destroy() removes', { timeout: 60_000 }, async (t) => {
  const messages: string[] = [];
  const topology = await createTopology({ nodes: ['producer', 'consumer'], rateMbit: RATE_MBIT, log: (m) => messages.push(m) });
  if (!topology.available) {
    t.skip(`network namespaces are not available here: ${topology.reason}`);
    return;
  }
  let server: ChildProcess | undefined;
  try {
    const namespaces = Object.values(topology.namespaces);
    assert.deepEqual(namespaces.sort(), [`sluice-consumer-${process.pid}`, `sluice-producer-${process.pid}`]);
    for (const ns of namespaces) assert.ok(netnsNames().includes(ns), `${ns} missing from ip netns list`);
    assert.deepEqual(topology.addresses, { producer: '10.213.0.10', consumer: '10.213.0.11' });

    // A server in the producer namespace that sends SIZE bytes to each connection.
    const serve = topology.exec('producer', process.execPath, [
      '-e',
      `const b = Buffer.alloc(${SIZE}); require('node:net').createServer((s) => s.end(b)).listen(${PORT}, '${topology.addresses.producer}', () => console.log('listening'));`,
    ]);
    server = spawn(serve.command, serve.args, { stdio: ['ignore', 'pipe', 'inherit'] });
    await once(server.stdout!, 'data');

    const fromConsumer = JSON.parse(await output(topology.exec('consumer', process.execPath, ['-e', clientScript(topology.addresses.producer)]))) as { bytes: number; ms: number };
    assert.equal(fromConsumer.bytes, SIZE);
    const idealMs = (SIZE * 8) / (RATE_MBIT * 1000);
    const mbit = (SIZE * 8) / (fromConsumer.ms * 1000);
    t.diagnostic(`consumer ← producer: ${SIZE} bytes in ${fromConsumer.ms.toFixed(0)} ms = ${mbit.toFixed(0)} Mbit/s (ideal ${idealMs.toFixed(0)} ms at ${RATE_MBIT} Mbit/s)`);
    // Shaped: never faster than the rate (a bucket of 1 ms is all it may gain), and not far slower either.
    assert.ok(fromConsumer.ms >= idealMs * 0.97, `50 MiB took ${fromConsumer.ms.toFixed(0)} ms, faster than ${RATE_MBIT} Mbit/s allows`);
    assert.ok(fromConsumer.ms <= idealMs * 3, `50 MiB took ${fromConsumer.ms.toFixed(0)} ms, far slower than ${RATE_MBIT} Mbit/s`);

    // The root namespace reaches the nodes through the bridge.
    const fromRoot = JSON.parse(await output({ command: process.execPath, args: ['-e', clientScript(topology.addresses.producer)] })) as { bytes: number };
    assert.equal(fromRoot.bytes, SIZE);
  } finally {
    server?.kill('SIGKILL');
    if (server && server.exitCode === null && server.signalCode === null) await once(server, 'exit');
    await topology.destroy();
  }
  const left = netnsNames().filter((n) => n.endsWith(`-${process.pid}`));
  assert.deepEqual(left, [], 'namespaces left after destroy()');
  assert.deepEqual(linkNames().filter((n) => ownerPid(n) === process.pid), [], 'links left after destroy()');
  await topology.destroy(); // twice is fine
  assert.ok(messages.some((m) => m.includes('network topology up')));
});

test('createTopology: exec() refuses a node that is not in the topology', async (t) => {
  const topology = await createTopology({ nodes: ['solo'], log: () => undefined });
  if (!topology.available) {
    t.skip(`network namespaces are not available here: ${topology.reason}`);
    return;
  }
  try {
    assert.deepEqual(topology.exec('solo', 'true', ['x']).args, ['netns', 'exec', `sluice-solo-${process.pid}`, 'true', 'x']);
    assert.throws(() => topology.exec('other', 'true', []), /no node "other"/);
  } finally {
    await topology.destroy();
  }
});

test('createTopology: routeRange() reaches a node\'s range from everywhere, setRate() reshapes, linkBytes() counts', { timeout: 60_000 }, async (t) => {
  const topology = await createTopology({ nodes: ['producer', 'consumer'], rateMbit: 10_000, log: () => undefined });
  if (!topology.available) {
    t.skip(`network namespaces are not available here: ${topology.reason}`);
    return;
  }
  let server: ChildProcess | undefined;
  try {
    assert.deepEqual(Object.keys(topology.hostLinks), ['producer', 'consumer']);
    await topology.routeRange('producer', '10.214.9');
    await assert.rejects(topology.routeRange('nobody', '10.214.8'), /no node "nobody"/);
    // Any address of the range is the producer's: a server there, reached from the consumer and from the root namespace.
    const address = '10.214.9.77';
    const serve = topology.exec('producer', process.execPath, [
      '-e',
      `const b = Buffer.alloc(${SIZE}); require('node:net').createServer((s) => s.end(b)).listen(${PORT}, '${address}', () => console.log('listening'));`,
    ]);
    server = spawn(serve.command, serve.args, { stdio: ['ignore', 'pipe', 'inherit'] });
    await once(server.stdout!, 'data');
    const fromRoot = JSON.parse(await output({ command: process.execPath, args: ['-e', clientScript(address)] })) as { bytes: number };
    assert.equal(fromRoot.bytes, SIZE);

    await topology.setRate(RATE_MBIT);
    assert.equal(topology.rateMbit, RATE_MBIT);
    assert.match(execFileSync('tc', ['qdisc', 'show', 'dev', topology.hostLinks.producer], { encoding: 'utf8' }), /rate 1Gbit/);
    const before = topology.linkBytes('producer');
    const fromConsumer = JSON.parse(await output(topology.exec('consumer', process.execPath, ['-e', clientScript(address)]))) as { bytes: number; ms: number };
    assert.equal(fromConsumer.bytes, SIZE);
    const idealMs = (SIZE * 8) / (RATE_MBIT * 1000);
    assert.ok(fromConsumer.ms >= idealMs * 0.97, `50 MiB took ${fromConsumer.ms.toFixed(0)} ms after setRate(${RATE_MBIT}), faster than it allows`);
    const after = topology.linkBytes('producer');
    // The object plus TCP/IP headers went out of the producer; only acknowledgements came in.
    assert.ok(after.fromNode - before.fromNode >= SIZE, `producer sent ${after.fromNode - before.fromNode} bytes`);
    assert.ok(after.fromNode - before.fromNode < SIZE * 1.1);
    assert.ok(after.toNode - before.toNode < SIZE * 0.1);
    await assert.rejects(topology.setRate(0), /positive/);
  } finally {
    server?.kill('SIGKILL');
    if (server && server.exitCode === null && server.signalCode === null) await once(server, 'exit');
    await topology.destroy();
  }
});

const NETNS_MODULE = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), 'netns.js')).href;

/** A child process that makes a one-node topology, prints its namespaces and pid, then `ending` (exits or waits). */
function childWithTopology(ending: string): ChildProcess {
  const script = `
    const { createTopology } = await import(${JSON.stringify(NETNS_MODULE)});
    const t = await createTopology({ nodes: ['orphan'], log: () => undefined });
    console.log(JSON.stringify(t.available ? { pid: process.pid, namespaces: Object.values(t.namespaces) } : { reason: t.reason }));
    ${ending}`;
  return spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
}

async function firstLine(child: ChildProcess): Promise<{ pid?: number; namespaces?: string[]; reason?: string }> {
  const [data] = (await once(child.stdout!, 'data')) as [Buffer];
  return JSON.parse(data.toString().split('\n')[0]) as { pid?: number; namespaces?: string[]; reason?: string };
}

test('createTopology: a process that exits without destroy() leaves nothing (exit handler)', { timeout: 30_000 }, async (t) => {
  const child = childWithTopology('process.exit(0);');
  const made = await firstLine(child);
  await once(child, 'exit');
  if (!made.namespaces) {
    t.skip(`network namespaces are not available here: ${made.reason}`);
    return;
  }
  assert.deepEqual(netnsNames().filter((n) => made.namespaces!.includes(n)), []);
  assert.deepEqual(linkNames().filter((n) => ownerPid(n) === made.pid), []);
});

test('createTopology: removes what a killed process left behind', { timeout: 30_000 }, async (t) => {
  const child = childWithTopology('setInterval(() => undefined, 1000);');
  const made = await firstLine(child);
  if (!made.namespaces) {
    child.kill('SIGKILL');
    t.skip(`network namespaces are not available here: ${made.reason}`);
    return;
  }
  child.kill('SIGKILL');
  await once(child, 'exit');
  assert.ok(netnsNames().includes(made.namespaces[0]), 'SIGKILL should have left the namespace behind');
  const messages: string[] = [];
  const topology = await createTopology({ nodes: ['fresh'], log: (m) => messages.push(m) });
  assert.ok(topology.available, topology.available ? '' : topology.reason);
  await topology.destroy();
  assert.deepEqual(netnsNames().filter((n) => made.namespaces!.includes(n)), []);
  assert.deepEqual(linkNames().filter((n) => ownerPid(n) === made.pid), []);
  assert.ok(messages.some((m) => m.includes('left by an earlier run')));
});

test('createTopology: without CAP_NET_ADMIN it is unavailable, with the reason', { skip: process.getuid?.() !== 0 ? 'needs root to drop to an unprivileged user' : false }, async () => {
  const script = `
    const { createTopology } = await import(${JSON.stringify(NETNS_MODULE)});
    console.log(JSON.stringify(await createTopology({ nodes: ['a'], log: () => undefined })));`;
  const out = execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--input-type=module', '-e', script], {
    encoding: 'utf8',
    cwd: '/',
  });
  const result = JSON.parse(out) as { available: boolean; reason?: string };
  assert.equal(result.available, false);
  assert.match(result.reason ?? '', /netns add .*(not permitted|Permission denied)/);
});
