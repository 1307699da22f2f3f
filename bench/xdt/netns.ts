// A shaped network for the XDT benchmark: each node (producer, consumer, storage, …) in a network namespace of its
// own, all on one Linux bridge, every node's link limited to a rate like a real NIC. Loopback is far faster than any
// NIC, so transfers between namespaces show what changes when bandwidth, not memory copies, is the limit.
//
// Usage:
//   const net = await createTopology({ nodes: ['producer', 'consumer', 'storage'], rateMbit: 10_000, log: ctx.log });
//   if (!net.available) { ctx.log(`shaped network skipped: ${net.reason}`); return; }
//   ctx.cleanup.defer('netns', net.destroy);
//   const { command, args } = net.exec('storage', redisServerPath, ['--bind', net.addresses.storage]);
//   spawnOwned(command, args, { env: process.env });    // runs inside the storage namespace
//
// Layout: namespace `sluice-<node>-<pid>` per node holding `eth0` (10.213.0.10, .11, … /24) and `lo`; its veth peer
// `slv<pid>x<i>` is a port of bridge `slbr<pid>` (10.213.0.1/24) in the root namespace, so nodes reach each other and
// this process reaches them all. A token bucket (tc tbf) on both ends of each veth caps the node's traffic in each
// direction at rateMbit. No default route: nothing in a namespace can reach beyond the bridge.
//
// For a local cluster on it, routeRange() gives each node an address range of its own (the node agent's subnet), and
// setRate() reshapes every link in place, between measurements; hostLinks name the root-side veths, whose counters in
// /sys/class/net/<link>/statistics are each node's traffic (linkBytes()).
//
// Needs root (CAP_NET_ADMIN) and iproute2 (installed with apt when missing); when namespaces cannot be made, the result
// is { available: false, reason }. Stop the processes inside before destroy(): a namespace lives on while a process
// uses it. Leftovers of a run that was killed (its pid is gone) are removed by the next createTopology().
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { CommandLine } from '../../lib/process.js';
import { ensureDebianBinary } from './system-tools.js';

const execFileAsync = promisify(execFile);

export const SUBNET_PREFIX = '10.213.0.';
export const BRIDGE_ADDRESS = `${SUBNET_PREFIX}1`;
/** Node i gets SUBNET_PREFIX + (FIRST_HOST + i). */
const FIRST_HOST = 10;
const MAX_NODES = 254 - FIRST_HOST;
const NODE_NAME = /^[a-z][a-z0-9]{0,31}$/;

export interface TopologyOptions {
  /** Node names: lowercase letters and digits, starting with a letter, unique. */
  nodes: string[];
  /** Each node's link rate in Mbit/s, in each direction (default 10000). */
  rateMbit?: number;
  log: (message: string) => void;
}

export type SpawnArgs = CommandLine;

export interface Topology {
  available: true;
  /** Node name → its IPv4 address on the bridge. */
  addresses: Record<string, string>;
  /** Node name → its network namespace. */
  namespaces: Record<string, string>;
  /** The address of the root namespace on the bridge (this process, when it serves a node). */
  hostAddress: string;
  /** Each link's current rate (setRate changes it). */
  rateMbit: number;
  /** Node name → its veth end in the root namespace (a port of the bridge). */
  hostLinks: Record<string, string>;
  /** The command line that runs `cmd args` inside `node`'s namespace, for spawn() or spawnOwned(). */
  exec(node: string, cmd: string, args: readonly string[]): SpawnArgs;
  /**
   * Makes every address of `${subnet}.0/24` local in `node`'s namespace (as 127/8 is on lo) and routes the range via the
   * node's address from the root namespace and every other node: an instance range for a node agent there.
   */
  routeRange(node: string, subnet: string): Promise<void>;
  /** Reshapes every link, both directions, to `rateMbit` (tc qdisc change); traffic in flight goes on. */
  setRate(rateMbit: number): Promise<void>;
  /** Bytes the node has sent onto its link (`fromNode`) and received from it (`toNode`) since the topology was made. */
  linkBytes(node: string): { fromNode: number; toNode: number };
  /** Removes the namespaces, links and bridge; safe to call more than once. */
  destroy(): Promise<void>;
}

export type TopologyResult = Topology | { available: false; reason: string };

export interface NodePlan {
  name: string;
  namespace: string;
  /** The veth end in the root namespace (a bridge port). */
  hostVeth: string;
  /** The other end's name until it is moved into the namespace and renamed eth0. */
  peerVeth: string;
  address: string;
}

export interface TopologyPlan {
  bridge: string;
  nodes: NodePlan[];
}

/** Names and addresses for `nodes` owned by process `pid`; interface names stay within Linux's 15 characters. */
export function planTopology(nodes: readonly string[], pid: number): TopologyPlan {
  if (nodes.length === 0) throw new RangeError('a topology needs at least one node');
  if (nodes.length > MAX_NODES) throw new RangeError(`a topology has at most ${MAX_NODES} nodes, got ${nodes.length}`);
  const seen = new Set<string>();
  for (const name of nodes) {
    if (!NODE_NAME.test(name)) throw new RangeError(`node name "${name}" must be lowercase letters and digits, starting with a letter, at most 32`);
    if (seen.has(name)) throw new RangeError(`node name "${name}" is given twice`);
    seen.add(name);
  }
  return {
    bridge: `slbr${pid}`,
    nodes: nodes.map((name, i) => ({
      name,
      namespace: `sluice-${name}-${pid}`,
      hostVeth: `slv${pid}x${i}`,
      peerVeth: `slp${pid}x${i}`,
      address: `${SUBNET_PREFIX}${FIRST_HOST + i}`,
    })),
  };
}

/**
 * The tc arguments (after `qdisc add dev DEV root`) of a token bucket at `rateMbit`. The bucket holds 1 ms of traffic
 * but at least 64 KiB, so a full-size GSO packet passes without being cut up; the queue holds 20 ms before dropping.
 */
export function tbfArgs(rateMbit: number): string[] {
  if (!Number.isFinite(rateMbit) || rateMbit <= 0) throw new RangeError(`rateMbit must be a positive number, got ${rateMbit}`);
  const bytesPerMs = (rateMbit * 1_000_000) / 8 / 1000;
  const burst = Math.max(Math.ceil(bytesPerMs), 64 * 1024);
  return ['tbf', 'rate', `${rateMbit}mbit`, 'burst', String(burst), 'latency', '20ms'];
}

/** Names from `ip netns list` ("name" or "name (id: N)" per line). */
export function parseNetnsList(output: string): string[] {
  return output
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0])
    .filter((name) => name !== undefined && name !== '');
}

/** Interface names from `ip -o link show` ("N: name@peer: <…" per line). */
export function parseLinkNames(output: string): string[] {
  const names: string[] = [];
  for (const line of output.split('\n')) {
    const match = /^\d+:\s+([^:@\s]+)/.exec(line);
    if (match) names.push(match[1]);
  }
  return names;
}

/** The owning pid encoded in a name this module makes (namespace, bridge or veth), or undefined for anything else. */
export function ownerPid(name: string): number | undefined {
  const match = /^sluice-[a-z][a-z0-9]*-(\d+)$/.exec(name) ?? /^slbr(\d+)$/.exec(name) ?? /^sl[vp](\d+)x\d+$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Messages of deleting something that is already gone. */
const ALREADY_GONE = /Cannot find device|No such file or directory|does not exist|Cannot open network namespace/;

/** Runs `ip args` synchronously (also from an 'exit' handler); returns the error text, or undefined on success or when already gone. */
function removeSync(ip: string, args: string[]): string | undefined {
  const result = spawnSync(ip, args, { encoding: 'utf8' });
  if (result.status === 0) return undefined;
  const text = `${result.stderr ?? ''}${result.error?.message ?? ''}`.trim();
  return ALREADY_GONE.test(text) ? undefined : `ip ${args.join(' ')}: ${text}`;
}

/** Deletes host veths first (which takes their peers), then the bridge, then the namespaces; every step is tried. */
function removeAll(ip: string, plan: TopologyPlan): string[] {
  const errors: string[] = [];
  const add = (e: string | undefined): void => {
    if (e) errors.push(e);
  };
  for (const node of plan.nodes) add(removeSync(ip, ['link', 'del', node.hostVeth]));
  // A peer that never made it into its namespace is left in the root namespace.
  for (const node of plan.nodes) add(removeSync(ip, ['link', 'del', node.peerVeth]));
  add(removeSync(ip, ['link', 'del', plan.bridge]));
  for (const node of plan.nodes) add(removeSync(ip, ['netns', 'del', node.namespace]));
  return errors;
}

/** Removes namespaces and links left by earlier processes that are gone (killed before their destroy() ran). */
function removeStale(ip: string, log: (message: string) => void): void {
  const netns = spawnSync(ip, ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  const links = spawnSync(ip, ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout ?? '';
  const stale = (name: string): boolean => {
    const pid = ownerPid(name);
    return pid !== undefined && pid !== process.pid && !pidAlive(pid);
  };
  for (const name of parseLinkNames(links).filter(stale)) {
    log(`removing link ${name} left by an earlier run`);
    removeSync(ip, ['link', 'del', name]);
  }
  for (const name of parseNetnsList(netns).filter(stale)) {
    log(`removing network namespace ${name} left by an earlier run`);
    removeSync(ip, ['netns', 'del', name]);
  }
}

function commandError(command: string, args: readonly string[], err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return `\`${command} ${args.join(' ')}\` failed: ${(e.stderr ?? '').trim() || e.message || String(err)}`;
}

/** Creates the namespaces, bridge, veths and shaping; see the module comment. */
export async function createTopology(options: TopologyOptions): Promise<TopologyResult> {
  const rateMbit = options.rateMbit ?? 10_000;
  const plan = planTopology(options.nodes, process.pid);
  const shaping = tbfArgs(rateMbit);
  if (process.platform !== 'linux') return { available: false, reason: `network namespaces need Linux (this is ${process.platform})` };
  let ip: string;
  let tc: string;
  try {
    ip = await ensureDebianBinary('ip', 'iproute2', options.log);
    tc = await ensureDebianBinary('tc', 'iproute2', options.log);
  } catch (err) {
    return { available: false, reason: (err as Error).message };
  }
  removeStale(ip, options.log);

  const inUse = spawnSync(ip, ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' }).stdout ?? '';
  const clash = inUse.split('\n').find((line) => line.includes(` ${SUBNET_PREFIX}`));
  if (clash) return { available: false, reason: `${SUBNET_PREFIX}0/24 is already in use in the root namespace: ${clash.trim()}` };

  const run = async (command: string, args: string[]): Promise<void> => {
    try {
      await execFileAsync(command, args);
    } catch (err) {
      throw new Error(commandError(command, args, err));
    }
  };
  const safetyNet = (): void => {
    removeAll(ip, plan);
  };
  // Registered before the first change, so an exit in the middle of setting up removes what exists.
  process.on('exit', safetyNet);
  let destroyed: Promise<void> | undefined;
  const destroy = (): Promise<void> =>
    (destroyed ??= (async () => {
      const errors = removeAll(ip, plan);
      process.removeListener('exit', safetyNet);
      if (errors.length > 0) throw new Error(`network topology not fully removed:\n${errors.join('\n')}`);
    })());

  try {
    for (const node of plan.nodes) {
      try {
        await run(ip, ['netns', 'add', node.namespace]);
      } catch (err) {
        // The usual "not here": no CAP_NET_ADMIN or no /run/netns.
        await destroy().catch(() => undefined);
        return { available: false, reason: (err as Error).message };
      }
    }
    await run(ip, ['link', 'add', plan.bridge, 'type', 'bridge']);
    await run(ip, ['addr', 'add', `${BRIDGE_ADDRESS}/24`, 'dev', plan.bridge]);
    await run(ip, ['link', 'set', plan.bridge, 'up']);
    for (const node of plan.nodes) {
      const ns = node.namespace;
      await run(ip, ['link', 'add', node.hostVeth, 'type', 'veth', 'peer', 'name', node.peerVeth]);
      await run(ip, ['link', 'set', node.peerVeth, 'netns', ns]);
      await run(ip, ['link', 'set', node.hostVeth, 'master', plan.bridge]);
      await run(ip, ['link', 'set', node.hostVeth, 'up']);
      await run(ip, ['-n', ns, 'link', 'set', node.peerVeth, 'name', 'eth0']);
      await run(ip, ['-n', ns, 'addr', 'add', `${node.address}/24`, 'dev', 'eth0']);
      await run(ip, ['-n', ns, 'link', 'set', 'eth0', 'up']);
      await run(ip, ['-n', ns, 'link', 'set', 'lo', 'up']);
      // Into the node (root-side egress) and out of it (namespace-side egress).
      await run(tc, ['qdisc', 'add', 'dev', node.hostVeth, 'root', ...shaping]);
      await run(tc, ['-n', ns, 'qdisc', 'add', 'dev', 'eth0', 'root', ...shaping]);
    }
  } catch (err) {
    const leftovers = await destroy().then(
      () => '',
      (e: unknown) => `; and cleaning up failed: ${(e as Error).message}`,
    );
    return { available: false, reason: `${(err as Error).message}${leftovers}` };
  }

  const addresses = Object.fromEntries(plan.nodes.map((n) => [n.name, n.address]));
  const namespaces = Object.fromEntries(plan.nodes.map((n) => [n.name, n.namespace]));
  const hostLinks = Object.fromEntries(plan.nodes.map((n) => [n.name, n.hostVeth]));
  const nodePlan = (node: string): NodePlan => {
    const found = plan.nodes.find((n) => n.name === node);
    if (!found) throw new RangeError(`no node "${node}" in this topology (nodes: ${plan.nodes.map((n) => n.name).join(', ')})`);
    return found;
  };
  options.log(
    `network topology up: ${plan.nodes.map((n) => `${n.name}=${n.address}`).join(', ')} on bridge ${plan.bridge} (${BRIDGE_ADDRESS}), ${rateMbit} Mbit/s per link and direction`,
  );
  const topology: Topology = {
    available: true,
    addresses,
    namespaces,
    hostAddress: BRIDGE_ADDRESS,
    rateMbit,
    hostLinks,
    exec(node, cmd, args) {
      return { command: ip, args: ['netns', 'exec', nodePlan(node).namespace, cmd, ...args] };
    },
    async routeRange(node, subnet) {
      const owner = nodePlan(node);
      const range = `${subnet}.0/24`;
      await run(ip, ['-n', owner.namespace, 'route', 'add', 'local', range, 'dev', 'lo']);
      await run(ip, ['route', 'add', range, 'via', owner.address]);
      for (const other of plan.nodes.filter((n) => n !== owner)) await run(ip, ['-n', other.namespace, 'route', 'add', range, 'via', owner.address]);
    },
    async setRate(newRateMbit) {
      const args = tbfArgs(newRateMbit);
      for (const node of plan.nodes) {
        await run(tc, ['qdisc', 'change', 'dev', node.hostVeth, 'root', ...args]);
        await run(tc, ['-n', node.namespace, 'qdisc', 'change', 'dev', 'eth0', 'root', ...args]);
      }
      topology.rateMbit = newRateMbit;
      options.log(`every link reshaped to ${newRateMbit} Mbit/s per direction`);
    },
    linkBytes(node) {
      const counter = (name: string): number => Number(readFileSync(`/sys/class/net/${nodePlan(node).hostVeth}/statistics/${name}`, 'utf8').trim());
      // The root-side end receives what the node sends.
      return { fromNode: counter('rx_bytes'), toNode: counter('tx_bytes') };
    },
    destroy,
  };
  return topology;
}
