// Transport ceilings for the XDT benchmark: how fast one process can get N bytes from another over raw grpc-js
// streaming and over a plain TCP socket, with nothing else in the path. XDT is judged against these.
//
// Usage:
//   const rows = await measureCeilings({ host: '127.0.0.1', sizes: [10 * 1024, 1 << 20], repetitions: 10, log: ctx.log });
//   // → [{ method: 'grpc-js', sizeBytes: 10240, latenciesMs: [...] }, { method: 'tcp', ... }, ...]
//
// The sender is a forked child (ceilings-sender.ts), so the bytes cross a process boundary as they do between two
// queue-proxies; this process is the receiver. Each repetition is timed from the receiver's request to its last byte.
// grpc-js uses the real contract (XdtData.Pull streaming Chunk{data}) with the standard protobuf serializer, i.e. what a
// user writing "raw grpc-js streaming" gets; TCP writes the same 64 KiB chunks, honouring backpressure.
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { loadXdtProto } from '../../lib/grpc.js';
import { spawnOwned, terminate } from '../../lib/process.js';
import type { XdtDataClient } from '../../protos/generated/sluice/xdt/v1/XdtData.js';
import { encodeTcpRequest, isSenderReady, type SenderReady } from './ceilings-protocol.js';

export type CeilingMethod = 'grpc-js' | 'tcp';
export const CEILING_METHODS: readonly CeilingMethod[] = ['grpc-js', 'tcp'];

export interface CeilingOptions {
  /** Both processes use this address (the sender listens on it). */
  host: string;
  sizes: number[];
  repetitions: number;
  log: (message: string) => void;
}

export interface CeilingResult {
  method: CeilingMethod;
  sizeBytes: number;
  /** One per repetition, in order. */
  latenciesMs: number[];
}

const SENDER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ceilings-sender.js');
const SENDER_START_TIMEOUT_MS = 15_000;
/** No single transfer here should take this long (100 MiB at 100 MiB/s is 1 s): a hang fails instead. */
const TRANSFER_TIMEOUT_MS = 60_000;

function withTimeout<T>(what: string, promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function startSender(host: string): Promise<{ child: ChildProcess; ports: SenderReady }> {
  const child = spawnOwned(process.execPath, [SENDER, host], { env: process.env, ipc: true });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void terminate(child, 1_000);
      reject(new Error(`ceilings sender (${SENDER}) did not report its ports within ${SENDER_START_TIMEOUT_MS} ms`));
    }, SENDER_START_TIMEOUT_MS);
    child.once('message', (message) => {
      clearTimeout(timer);
      if (isSenderReady(message)) resolve({ child, ports: message });
      else reject(new Error(`ceilings sender sent ${JSON.stringify(message)} instead of its ports`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`ceilings sender (${SENDER}) exited (${signal ?? `code ${code}`}) before reporting its ports`));
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** A receiver for one method: fetch(size) resolves with the milliseconds from request to last byte. */
interface Receiver {
  fetch(size: number): Promise<number>;
  close(): void;
}

function grpcReceiver(address: string): Receiver {
  const { XdtData } = loadXdtProto().sluice.xdt.v1;
  // Default channel options on purpose: the baseline is grpc-js as a user would set it up.
  const client = new XdtData(address, grpc.credentials.createInsecure()) as XdtDataClient;
  return {
    fetch(size) {
      return new Promise((resolve, reject) => {
        const start = performance.now();
        let received = 0;
        const call = client.Pull({ reference: String(size), namespace: '' });
        call.on('data', (chunk: { data: Buffer }) => {
          received += chunk.data.length;
        });
        call.once('error', reject);
        call.once('end', () => {
          const elapsed = performance.now() - start;
          if (received === size) resolve(elapsed);
          else reject(new Error(`grpc-js Pull of ${size} bytes ended after ${received} bytes`));
        });
      });
    },
    close: () => client.close(),
  };
}

async function tcpReceiver(host: string, port: number): Promise<Receiver> {
  const socket = net.connect({ host, port });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  // One transfer at a time on the kept-open connection (as the gRPC channel is kept open between repetitions).
  let current: { size: number; received: number; start: number; resolve: (ms: number) => void; reject: (err: Error) => void } | undefined;
  const fail = (err: Error): void => {
    const c = current;
    current = undefined;
    c?.reject(err);
  };
  socket.on('data', (data: Buffer) => {
    if (!current) return fail(new Error(`tcp sender sent ${data.length} bytes nobody asked for`));
    current.received += data.length;
    if (current.received > current.size) return fail(new Error(`tcp sender sent ${current.received} bytes for a ${current.size}-byte request`));
    if (current.received === current.size) {
      const c = current;
      current = undefined;
      c.resolve(performance.now() - c.start);
    }
  });
  socket.on('error', fail);
  socket.on('close', () => fail(new Error('tcp sender closed the connection')));
  return {
    fetch(size) {
      if (current) return Promise.reject(new Error('tcp receiver: a transfer is already running'));
      // The sender answers a 0-byte request with nothing: there is no last byte to wait for.
      if (size === 0) return Promise.resolve(0);
      return new Promise((resolve, reject) => {
        current = { size, received: 0, start: performance.now(), resolve, reject };
        socket.write(encodeTcpRequest(size));
      });
    },
    close: () => socket.destroy(),
  };
}

function formatRate(sizeBytes: number, latenciesMs: number[]): string {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  const mibPerS = sizeBytes / (1024 * 1024) / (median / 1000);
  return `median ${median.toFixed(3)} ms (${mibPerS.toFixed(0)} MiB/s)`;
}

/** Measures every method at every size; results are ordered by size, then method. */
export async function measureCeilings(options: CeilingOptions): Promise<CeilingResult[]> {
  if (options.sizes.length === 0 || options.repetitions < 1) throw new RangeError('measureCeilings needs at least one size and one repetition');
  const hostPart = options.host.includes(':') ? `[${options.host}]` : options.host;
  const { child, ports } = await startSender(options.host);
  const receivers: Partial<Record<CeilingMethod, Receiver>> = {};
  try {
    receivers['grpc-js'] = grpcReceiver(`${hostPart}:${ports.grpcPort}`);
    receivers.tcp = await tcpReceiver(options.host, ports.tcpPort);
    const byKey = new Map<string, number[]>();
    const warmupSize = Math.max(...options.sizes);
    for (const method of CEILING_METHODS) {
      const receiver = receivers[method]!;
      // Warm-up: connection set up, JIT and buffer pools, at the largest size so every code path has run.
      await withTimeout(`${method} warm-up`, receiver.fetch(warmupSize), TRANSFER_TIMEOUT_MS);
      for (const size of options.sizes) {
        const latencies: number[] = [];
        for (let i = 0; i < options.repetitions; i++) {
          latencies.push(await withTimeout(`${method} transfer of ${size} bytes`, receiver.fetch(size), TRANSFER_TIMEOUT_MS));
        }
        byKey.set(`${method}/${size}`, latencies);
        options.log(`ceiling ${method} ${size} B: ${formatRate(size, latencies)}`);
      }
    }
    return options.sizes.flatMap((sizeBytes) => CEILING_METHODS.map((method) => ({ method, sizeBytes, latenciesMs: byKey.get(`${method}/${sizeBytes}`)! })));
  } finally {
    for (const receiver of Object.values(receivers)) receiver.close();
    if (child.connected) child.disconnect();
    await terminate(child, 2_000);
  }
}
