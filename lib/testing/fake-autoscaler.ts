// FakeAutoscaler: a test fake serving the real Autoscaler gRPC contract on loopback, recording pokes and stats (tests only).
import { EventEmitter, once } from 'node:events';
import { bindServer, grpc, loadAutoscalerProto, shutdownServer } from '../grpc.js';
import type { AutoscalerHandlers } from '../../protos/generated/sluice/autoscaler/v1/Autoscaler.js';
import type { PokeRequest__Output } from '../../protos/generated/sluice/autoscaler/v1/PokeRequest.js';
import type { ScaleUpdate } from '../../protos/generated/sluice/autoscaler/v1/ScaleUpdate.js';
import type { Stat__Output } from '../../protos/generated/sluice/autoscaler/v1/Stat.js';
import type { WatchScaleRequest__Output } from '../../protos/generated/sluice/autoscaler/v1/WatchScaleRequest.js';

interface FakeAutoscalerEvents {
  poke: [PokeRequest__Output];
  stat: [Stat__Output];
  watch: [WatchScaleRequest__Output];
}

/**
 * FakeAutoscaler is a test fake, not an autoscaler: a real gRPC server implementing
 * protos/autoscaler.proto's Autoscaler that makes no decisions. It records pokes and stats
 * (emitting 'poke' and 'stat'), keeps WatchScale streams open (emitting 'watch') and lets the
 * test push ScaleUpdates to every one of them.
 */
export class FakeAutoscaler extends EventEmitter<FakeAutoscalerEvents> {
  readonly pokes: PokeRequest__Output[] = [];
  readonly stats: Stat__Output[] = [];
  private readonly watchers = new Set<grpc.ServerWritableStream<WatchScaleRequest__Output, ScaleUpdate>>();
  private readonly server = new grpc.Server();
  /** host:port once started. */
  address = '';

  /** Binds `address` (default: any free loopback port) and returns the bound address. */
  async start(address = '127.0.0.1:0'): Promise<string> {
    const proto = loadAutoscalerProto();
    const handlers: AutoscalerHandlers = {
      Poke: (call, callback) => {
        this.pokes.push(call.request);
        this.emit('poke', call.request);
        callback(null, {});
      },
      ReportStats: (call, callback) => {
        call.on('data', (stat: Stat__Output) => {
          this.stats.push(stat);
          this.emit('stat', stat);
        });
        call.on('end', () => callback(null, {}));
        call.on('error', () => undefined);
      },
      WatchScale: (call) => {
        this.watchers.add(call);
        this.emit('watch', call.request);
        call.on('cancelled', () => this.watchers.delete(call));
        call.on('close', () => this.watchers.delete(call));
      },
    };
    this.server.addService(proto.sluice.autoscaler.v1.Autoscaler.service, handlers);
    const port = await bindServer(this.server, address);
    this.address = `${address.slice(0, address.lastIndexOf(':'))}:${port}`;
    return this.address;
  }

  /** Resolves when at least one WatchScale stream is open. */
  async watched(): Promise<void> {
    if (this.watchers.size === 0) await once(this, 'watch');
  }

  /** Sends `update` on every open WatchScale stream. */
  pushScale(update: ScaleUpdate): void {
    for (const call of this.watchers) call.write(update);
  }

  /** Resolves with the first Stat (received from now on) that satisfies `match`. */
  nextStat(match: (stat: Stat__Output) => boolean = () => true): Promise<Stat__Output> {
    return new Promise((resolve) => {
      const onStat = (stat: Stat__Output): void => {
        if (!match(stat)) return;
        this.off('stat', onStat);
        resolve(stat);
      };
      this.on('stat', onStat);
    });
  }

  /** Ends the WatchScale streams and shuts the server down. Idempotent. */
  async close(): Promise<void> {
    for (const call of this.watchers) call.end();
    this.watchers.clear();
    await shutdownServer(this.server, 500);
  }
}
