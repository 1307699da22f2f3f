// The consumer's half of the XDT flow profile: the pulls this queue-proxy finished, summed per (producer
// function, producer node, path) and sent to its node agent's FlowProfile about once a second.
import type { Logger } from '../../lib/logger.js';
import type { FlowProfileClient } from '../../protos/generated/sluice/flow/v1/FlowProfile.js';
import type { FlowSample } from '../../protos/generated/sluice/flow/v1/FlowSample.js';
import type { TransferPath } from '../../protos/generated/sluice/flow/v1/TransferPath.js';
import type { TransferRecord } from './data-plane.js';

/** Objects smaller than this say more about per-call latency than about the link: they count as flow, not as cost samples. */
export const MIN_COST_SAMPLE_BYTES = 2 ** 20;

/** Distinct (producer, node, path) entries held between two reports; beyond it new ones wait for the next report. */
const MAX_ENTRIES = 1_000;

const PATHS: Record<TransferRecord['path'], TransferPath> = {
  local: 'TRANSFER_PATH_LOCAL',
  shm: 'TRANSFER_PATH_SHM',
  tcp: 'TRANSFER_PATH_TCP',
};

/** Sums transfers into report samples (pure). */
export class FlowAggregator {
  private entries = new Map<string, FlowSample & { objects: number; bytes: number; transfer_seconds: number; cost_bytes: number }>();
  /** Transfers not counted because the table was full. */
  dropped = 0;

  add(t: TransferRecord): void {
    const key = `${t.producerFunction}\u0000${t.producerNode}\u0000${t.path}`;
    let entry = this.entries.get(key);
    if (!entry) {
      if (this.entries.size >= MAX_ENTRIES) {
        this.dropped++;
        return;
      }
      entry = { producer_function: t.producerFunction, producer_node: t.producerNode, path: PATHS[t.path], objects: 0, bytes: 0, transfer_seconds: 0, cost_bytes: 0 };
      this.entries.set(key, entry);
    }
    entry.objects++;
    entry.bytes += t.bytes;
    if (t.bytes >= MIN_COST_SAMPLE_BYTES) {
      // The time the bytes spent moving; never below zero (clocks of two processes are not compared, but waits may be rounded).
      entry.transfer_seconds += Math.max(0, t.seconds - t.sourceWaitSeconds);
      entry.cost_bytes += t.bytes;
    }
  }

  /** The samples gathered since the last call, and a fresh table. */
  take(): FlowSample[] {
    const out = [...this.entries.values()];
    this.entries = new Map();
    return out;
  }
}

export interface FlowReporterOptions {
  address: string;
  namespace: string;
  function: string;
  node: string;
  periodMs: number;
  logger: Logger;
}

/**
 * Sends the aggregated pulls to the node agent; a report that fails is dropped (the profile is a moving estimate,
 * not a ledger). gRPC is loaded at the first report, not at start: its imports stay off the cold-start path.
 */
export class FlowReporter {
  private readonly aggregator = new FlowAggregator();
  private client: FlowProfileClient | undefined;
  private readonly timer: NodeJS.Timeout;
  private sending = false;
  private warned = false;

  constructor(private readonly options: FlowReporterOptions) {
    this.timer = setInterval(() => void this.flush(), options.periodMs);
    this.timer.unref();
  }

  private async connect(): Promise<FlowProfileClient> {
    if (!this.client) {
      const { CLIENT_OPTIONS, grpc, loadFlowProto } = await import('../../lib/grpc.js');
      this.client = new (loadFlowProto().sluice.flow.v1.FlowProfile)(this.options.address, grpc.credentials.createInsecure(), CLIENT_OPTIONS);
    }
    return this.client;
  }

  readonly record = (transfer: TransferRecord): void => this.aggregator.add(transfer);

  async flush(): Promise<void> {
    if (this.sending) return;
    const samples = this.aggregator.take();
    if (samples.length === 0) return;
    this.sending = true;
    const { namespace, function: fn, node, periodMs, logger } = this.options;
    try {
      const client = await this.connect();
      await new Promise<void>((resolve, reject) =>
        client.ReportFlows({ namespace, function: fn, node, samples }, { deadline: new Date(Date.now() + Math.max(1_000, periodMs)) }, (err) => (err ? reject(err) : resolve())),
      );
      this.warned = false;
    } catch (err) {
      // Once per outage at warn, then quiet: an agent restarting must not flood the log.
      if (!this.warned) logger.warn({ address: this.options.address, err: (err as Error).message }, 'XDT flow report to the node agent failed; dropped');
      this.warned = true;
    } finally {
      this.sending = false;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    this.client?.close();
  }
}
