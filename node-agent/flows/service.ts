// The node's FlowProfile gRPC service (protos/flow.proto) over a FlowTable, and its metrics.
//
// Consumer queue-proxies call ReportFlows about once a second; NodeAgent.GetNodeFlows (node-agent/service.ts)
// serves the table's view. Always on: a report costs a few map updates.
//
// Metrics:
// - sluice_node_agent_xdt_flow_bytes_total{namespace, function, path}: bytes pulled by the consumer
//   function, by how they came (path: local, shm, tcp, unspecified — a fixed set). The producer is
//   not a label: labels stay namespace/function (ARCHITECTURE.md); the edges are on GetNodeFlows.
// - sluice_node_agent_xdt_link_cost_seconds_per_gib{from_node}: the moving average of each inbound
//   link's cost. from_node is a node name, bounded by the size of the cluster (and capped by the
//   table, DEFAULT_MAX_LINKS, against junk); it is read from the table at scrape time, so a link the
//   table forgot leaves the metric too.
import { Counter, Gauge, type Registry } from 'prom-client';
import { grpc } from '../../lib/grpc.js';
import type { Logger } from '../../lib/logger.js';
import type { FlowProfileHandlers } from '../../protos/generated/sluice/flow/v1/FlowProfile.js';
import type { NodeFlows__Output } from '../../protos/generated/sluice/nodeagent/v1/NodeFlows.js';
import { FlowTable, type AcceptedSample, type FlowTableOptions, type RecordResult } from './flow-table.js';

/** At most one warning about ignored samples per this interval (a misbehaving reporter sends every second). */
const WARN_INTERVAL_MS = 60_000;

export interface FlowMetrics {
  pulled(namespace: string, fn: string, sample: AcceptedSample): void;
}

export function createFlowMetrics(registry: Registry, table: FlowTable): FlowMetrics {
  const bytes = new Counter({
    name: 'sluice_node_agent_xdt_flow_bytes_total',
    help: 'XDT object bytes pulled by consumer functions on this node, by transfer path (local, shm, tcp, unspecified).',
    labelNames: ['namespace', 'function', 'path'],
    registers: [registry],
  });
  new Gauge({
    name: 'sluice_node_agent_xdt_link_cost_seconds_per_gib',
    help: 'Moving average of the transfer time of XDT object bytes from from_node to this node, in seconds per GiB (from_node = this node: the same-node path).',
    labelNames: ['from_node'],
    registers: [registry],
    collect() {
      this.reset();
      for (const link of table.links()) this.set({ from_node: link.from_node }, link.seconds_per_gib);
    },
  });
  return {
    pulled(namespace, fn, sample) {
      if (sample.bytes > 0) bytes.inc({ namespace, function: fn, path: sample.path }, sample.bytes);
    },
  };
}

export interface FlowServiceDeps {
  table: FlowTable;
  metrics: FlowMetrics;
  logger: Logger;
  /** Wall clock for rate-limiting warnings. Default Date.now. */
  now?: () => number;
}

export function flowHandlers(deps: FlowServiceDeps): FlowProfileHandlers {
  const { table, metrics, logger } = deps;
  const now = deps.now ?? Date.now;
  // One limiter per kind of warning, so a frequent one does not hide the others.
  const last = new Map<string, { at: number; suppressed: number }>();
  const warn = (kind: 'ignored' | 'node' | 'full', fields: object, msg: string): void => {
    const t = now();
    const state = last.get(kind);
    if (state && t - state.at < WARN_INTERVAL_MS) {
      state.suppressed++;
      return;
    }
    logger.warn({ ...fields, ...(state?.suppressed ? { suppressedSince: state.suppressed } : {}) }, msg);
    last.set(kind, { at: t, suppressed: 0 });
  };

  return {
    ReportFlows(call, callback) {
      const report = call.request;
      let result: RecordResult;
      try {
        result = table.record(report);
      } catch (err) {
        // The table validates its input and should never throw; a bug there must not take the agent down.
        callback({ code: grpc.status.INTERNAL, details: (err as Error).message });
        return;
      }
      if (!result.ok) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: result.reason });
        return;
      }
      for (const sample of result.accepted) metrics.pulled(report.namespace, report.function, sample);
      if (result.ignored.length > 0) {
        warn(
          'ignored',
          { namespace: report.namespace, function: report.function, ignored: result.ignored.slice(0, 5), ignoredCount: result.ignored.length },
          'flow report: samples ignored',
        );
      }
      if (report.node && report.node !== table.node) {
        warn('node', { namespace: report.namespace, function: report.function, reportNode: report.node, node: table.node }, 'flow report from a consumer of another node; counted as this node');
      }
      if (result.edgesEvicted > 0) warn('full', { evicted: result.edgesEvicted, size: table.size }, 'flow table full; smallest edges dropped');
      callback(null, {});
    },
  };
}

export interface FlowProfile {
  table: FlowTable;
  handlers: FlowProfileHandlers;
  /** NodeAgent.GetNodeFlows. */
  view(): NodeFlows__Output;
}

/** The table, its metrics and the handlers of one node. */
export function createFlowProfile(options: FlowTableOptions & { registry: Registry; logger: Logger }): FlowProfile {
  const table = new FlowTable(options);
  const metrics = createFlowMetrics(options.registry, table);
  return { table, handlers: flowHandlers({ table, metrics, logger: options.logger }), view: () => table.view() };
}
