// PM metrics of a node (prom-client): the device mode, the writer limit, admissions and waits, device I/O, per-function profiles.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AdmissionClass, PmMode, PmProfile } from './types.js';

export interface PmMetrics {
  admitted(fn: string, cls: AdmissionClass, waitedMs: number): void;
  /** A wait that ended without a grant (the request's deadline passed, or its client left). */
  abandoned(fn: string): void;
  io(kind: 'read' | 'write', bytes: number): void;
}

export interface PmMetricSources {
  node: string;
  mode: PmMode;
  writerLimit: () => number;
  activeWriters: () => number;
  waitingWriters: () => number;
  maxWaitMs: () => number;
  profiles: () => Iterable<[string, PmProfile]>;
}

function split(fn: string): { namespace: string; function: string } {
  const slash = fn.indexOf('/');
  return { namespace: fn.slice(0, slash), function: fn.slice(slash + 1) };
}

export function createPmMetrics(registry: Registry, s: PmMetricSources): PmMetrics {
  new Gauge({
    name: 'sluice_node_agent_pm_info',
    help: 'How this node provides PM (mode: dax, emulated or plain); always 1.',
    labelNames: ['node', 'mode'],
    registers: [registry],
  }).set({ node: s.node, mode: s.mode }, 1);
  new Gauge({
    name: 'sluice_node_agent_pm_writer_limit',
    help: 'Concurrent PM writers admitted at once (from calibration); -1 = unbounded (admission off).',
    registers: [registry],
    collect() {
      const limit = s.writerLimit();
      this.set(Number.isFinite(limit) ? limit : -1);
    },
  });
  new Gauge({
    name: 'sluice_node_agent_pm_writers',
    help: 'PM writers by state (granted: running now; waiting: queued for admission).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.set({ state: 'granted' }, s.activeWriters());
      this.set({ state: 'waiting' }, s.waitingWriters());
    },
  });
  new Gauge({
    name: 'sluice_node_agent_pm_max_wait_seconds',
    help: 'Longest any invocation has waited for PM admission since the node agent started.',
    registers: [registry],
    collect() {
      this.set(s.maxWaitMs() / 1000);
    },
  });
  const profile = new Gauge({
    name: 'sluice_node_agent_pm_profile',
    help: "The profiler's per-invocation estimates of a function (value: read_bytes, written_bytes, duration_seconds, sensitivity).",
    labelNames: ['namespace', 'function', 'value'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [fn, p] of s.profiles()) {
        const labels = split(fn);
        this.set({ ...labels, value: 'read_bytes' }, p.readBytes);
        this.set({ ...labels, value: 'written_bytes' }, p.writtenBytes);
        this.set({ ...labels, value: 'duration_seconds' }, p.durationMs / 1000);
        this.set({ ...labels, value: 'sensitivity' }, p.sensitivity);
      }
    },
  });
  void profile;
  const admissions = new Counter({
    name: 'sluice_node_agent_pm_admissions_total',
    help: 'Invocations admitted, by class (reader, writer), and waits abandoned (result="abandoned").',
    labelNames: ['namespace', 'function', 'result'],
    registers: [registry],
  });
  const wait = new Histogram({
    name: 'sluice_node_agent_pm_admission_wait_seconds',
    help: 'Time an invocation waited for PM admission, by class.',
    labelNames: ['class'],
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const io = new Counter({
    name: 'sluice_node_agent_pm_io_bytes_total',
    help: 'Bytes read from and written to the PM device through the node, by kind.',
    labelNames: ['kind'],
    registers: [registry],
  });
  return {
    admitted(fn, cls, waitedMs) {
      admissions.inc({ ...split(fn), result: cls });
      wait.observe({ class: cls }, waitedMs / 1000);
    },
    abandoned(fn) {
      admissions.inc({ ...split(fn), result: 'abandoned' });
    },
    io(kind, bytes) {
      io.inc({ kind }, bytes);
    },
  };
}
