// FakeAutoscaler: a test fake of the Autoscaler gRPC service that records the Stats it receives (tests only).
import { EventEmitter } from 'node:events';
import { bindServer, grpc, loadAutoscalerProto, shutdownServer } from '../lib/grpc.js';
import type { AutoscalerHandlers } from '../protos/generated/sluice/autoscaler/v1/Autoscaler.js';
import type { Stat__Output } from '../protos/generated/sluice/autoscaler/v1/Stat.js';

/**
 * FakeAutoscaler is a test fake, not an autoscaler: a real gRPC server on loopback
 * implementing the Autoscaler service from protos/autoscaler.proto that only records
 * every Stat (emitting 'stat'), counts Pokes and answers WatchScale with nothing.
 */
export class FakeAutoscaler extends EventEmitter<{ stat: [Stat__Output] }> {
  readonly stats: Stat__Output[] = [];
  pokes = 0;
  private readonly server = new grpc.Server();
  private port = 0;

  async start(): Promise<string> {
    const proto = loadAutoscalerProto();
    const handlers: AutoscalerHandlers = {
      ReportStats: (call, callback) => {
        call.on('data', (stat: Stat__Output) => {
          this.stats.push(stat);
          this.emit('stat', stat);
        });
        call.on('end', () => callback(null, {}));
        call.on('error', () => undefined);
      },
      Poke: (_call, callback) => {
        this.pokes++;
        callback(null, {});
      },
      WatchScale: (call) => {
        call.end();
      },
    };
    this.server.addService(proto.sluice.autoscaler.v1.Autoscaler.service, handlers);
    this.port = await bindServer(this.server, '127.0.0.1:0');
    return this.address;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
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

  close(): Promise<void> {
    return shutdownServer(this.server, 500);
  }
}
