// XDT metrics of a queue-proxy: bytes moved, transfers in progress, their latency, pool occupancy and refusals by code.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ErrorCode } from '../../lib/errors.js';
import type { BufferPool } from './buffer-pool.js';

/** put: SDK upload; pull: a peer pulling from here; get: the SDK reading; inbound: a request's object pulled for the function. */
export type XdtOp = 'put' | 'pull' | 'get' | 'inbound';
export type XdtDirection = 'sent' | 'received';

export interface XdtMetrics {
  bytes(direction: XdtDirection, n: number): void;
  transferStarted(op: XdtOp): void;
  transferEnded(op: XdtOp, seconds: number, result: 'ok' | 'error'): void;
  refused(code: ErrorCode): void;
  /** A pull of an object for this function finished, by the path it took. */
  pulled(path: 'local' | 'shm' | 'tcp'): void;
  /** The pools whose occupancy is read at scrape time. */
  pools(invoke: BufferPool, put: BufferPool): void;
}

const OPS: readonly XdtOp[] = ['put', 'pull', 'get', 'inbound'];

export function createXdtMetrics(registry: Registry, namespace: string, fn: string): XdtMetrics {
  const labels = { namespace, function: fn };
  const bytes = new Counter({
    name: 'sluice_queue_proxy_xdt_bytes_total',
    help: 'XDT object bytes this queue-proxy sent to or received from the network and its SDK.',
    labelNames: ['namespace', 'function', 'direction'],
    registers: [registry],
  });
  const active = new Gauge({
    name: 'sluice_queue_proxy_xdt_active_transfers',
    help: 'XDT transfers in progress, by operation.',
    labelNames: ['namespace', 'function', 'op'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'sluice_queue_proxy_xdt_transfer_duration_seconds',
    help: 'Duration of XDT transfers, from the call to its last byte.',
    labelNames: ['namespace', 'function', 'op', 'result'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const refusals = new Counter({
    name: 'sluice_queue_proxy_xdt_refusals_total',
    help: 'XDT calls refused or failed, by stable error code.',
    labelNames: ['namespace', 'function', 'code'],
    registers: [registry],
  });
  const pulls = new Counter({
    name: 'sluice_queue_proxy_xdt_pulls_total',
    help: 'XDT objects this queue-proxy pulled for its function, by path: local (its own store), shm (same node, shared memory), tcp.',
    labelNames: ['namespace', 'function', 'path'],
    registers: [registry],
  });
  const pullsByPath = { local: pulls.labels({ ...labels, path: 'local' }), shm: pulls.labels({ ...labels, path: 'shm' }), tcp: pulls.labels({ ...labels, path: 'tcp' }) };
  let watched: BufferPool[] = [];
  new Gauge({
    name: 'sluice_queue_proxy_xdt_pool_buffers',
    help: 'Buffers of the XDT pools, by pool and state (used, free); waiting counts callers waiting for a buffer.',
    labelNames: ['namespace', 'function', 'pool', 'state'],
    registers: [registry],
    collect() {
      for (const pool of watched) {
        this.set({ ...labels, pool: pool.name, state: 'used' }, pool.used);
        this.set({ ...labels, pool: pool.name, state: 'free' }, pool.available);
        this.set({ ...labels, pool: pool.name, state: 'waiting' }, pool.waiting);
      }
    },
  });
  const sent = bytes.labels({ ...labels, direction: 'sent' });
  const received = bytes.labels({ ...labels, direction: 'received' });
  const activeByOp = new Map(OPS.map((op) => [op, active.labels({ ...labels, op })]));
  for (const child of activeByOp.values()) child.set(0);
  return {
    bytes(direction, n) {
      (direction === 'sent' ? sent : received).inc(n);
    },
    transferStarted(op) {
      activeByOp.get(op)!.inc();
    },
    transferEnded(op, seconds, result) {
      activeByOp.get(op)!.dec();
      duration.observe({ ...labels, op, result }, seconds);
    },
    pulled(path) {
      pullsByPath[path].inc();
    },
    refused(code) {
      refusals.inc({ ...labels, code });
    },
    pools(invoke, put) {
      watched = [invoke, put];
    },
  };
}
