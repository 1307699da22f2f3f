// A client of a node's PmNode service (protos/pm.proto), shared by the queue-proxy (admission) and the SDK (device timing, usage).
import { CLIENT_OPTIONS, grpc, loadPmProto } from '../grpc.js';
import type { PmNodeClient } from '../../protos/generated/sluice/pm/v1/PmNode.js';
import type { PmInfo__Output } from '../../protos/generated/sluice/pm/v1/PmInfo.js';
import type { AcquireResponse__Output } from '../../protos/generated/sluice/pm/v1/AcquireResponse.js';
import type { IoKind } from '../../protos/generated/sluice/pm/v1/IoKind.js';

export type PmInfo = PmInfo__Output;

/** Promise-shaped calls; every call but acquire fails after `callTimeoutMs` rather than hang on a dead agent. */
export class PmClient {
  private readonly client: PmNodeClient;

  constructor(address: string, private readonly callTimeoutMs = 5_000) {
    const proto = loadPmProto();
    this.client = new proto.sluice.pm.v1.PmNode(address, grpc.credentials.createInsecure(), CLIENT_OPTIONS);
  }

  private deadline(ms = this.callTimeoutMs): Date {
    return new Date(Date.now() + ms);
  }

  info(): Promise<PmInfo> {
    return new Promise((resolve, reject) => this.client.GetPmInfo({}, { deadline: this.deadline() }, (err, res) => (err ? reject(err) : resolve(res!))));
  }

  /** Waits for admission at most `budgetMs` (the request's remaining time); `signal` ends the wait early (the client left). */
  acquire(namespace: string, fn: string, invocationId: string, budgetMs: number, signal?: AbortSignal): Promise<AcquireResponse__Output> {
    return new Promise((resolve, reject) => {
      const call = this.client.Acquire({ namespace, function: fn, invocation_id: invocationId }, { deadline: this.deadline(budgetMs) }, (err, res) =>
        err ? reject(err) : resolve(res!),
      );
      signal?.addEventListener('abort', () => call.cancel(), { once: true });
    });
  }

  release(invocationId: string, durationMs: number): Promise<void> {
    return new Promise((resolve, reject) =>
      this.client.Release({ invocation_id: invocationId, duration_ms: durationMs }, { deadline: this.deadline() }, (err) => (err ? reject(err) : resolve())),
    );
  }

  /** Resolves when the node's device would have finished `bytes` of `kind` (the emulated device's time cost). */
  io(kind: 'read' | 'write', bytes: number): Promise<void> {
    const k: IoKind = kind === 'read' ? 'IO_KIND_READ' : 'IO_KIND_WRITE';
    // A transfer's modelled time can be long: allow it, but never an unbounded hang.
    return new Promise((resolve, reject) => this.client.Io({ kind: k, bytes }, { deadline: this.deadline(10 * 60_000) }, (err) => (err ? reject(err) : resolve())));
  }

  reportUsage(namespace: string, fn: string, invocationId: string, readBytes: number, writtenBytes: number): Promise<void> {
    return new Promise((resolve, reject) =>
      this.client.ReportUsage(
        { namespace, function: fn, invocation_id: invocationId, read_bytes: readBytes, written_bytes: writtenBytes },
        { deadline: this.deadline() },
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  }

  close(): void {
    this.client.close();
  }
}
