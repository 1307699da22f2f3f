// The Platform interface over the local platform's gRPC API (served by `sluice up`), with watches that reconnect.
import { CLIENT_OPTIONS, grpc, loadPlatformProto } from '../grpc.js';
import type { Logger } from '../logger.js';
import { functionKey, parseFunctionDefinition } from '../function-spec.js';
import { ReconnectBackoff } from '../reconnect-backoff.js';
import type { LocalPlatformClient as GrpcLocalPlatformClient } from '../../protos/generated/sluice/platform/v1/LocalPlatform.js';
import type { FunctionEvent__Output as FunctionEventMessage } from '../../protos/generated/sluice/platform/v1/FunctionEvent.js';
import type { Endpoints__Output as EndpointsMessage } from '../../protos/generated/sluice/platform/v1/Endpoints.js';
import type { ClusterStatus__Output as ClusterStatus } from '../../protos/generated/sluice/platform/v1/ClusterStatus.js';
import type { FunctionEndpoints, FunctionEvent, FunctionRecord, Platform, Unsubscribe, WatchEventType } from './types.js';

export function createPlatformGrpcClient(address: string): GrpcLocalPlatformClient {
  const proto = loadPlatformProto();
  return new proto.sluice.platform.v1.LocalPlatform(address, grpc.credentials.createInsecure(), CLIENT_OPTIONS);
}

const EVENT_TYPES: Record<string, WatchEventType> = {
  EVENT_TYPE_ADDED: 'added',
  EVENT_TYPE_MODIFIED: 'modified',
  EVENT_TYPE_DELETED: 'deleted',
};

/** Re-opens a server stream whenever it ends, with capped exponential backoff (reset by any message). */
function keepWatching<T>(
  open: () => grpc.ClientReadableStream<T>,
  onMessage: (m: T) => void,
  logger: Logger,
  what: string,
  onOpen: () => void,
): Unsubscribe {
  let stopped = false;
  let current: grpc.ClientReadableStream<T> | undefined;
  const backoff = new ReconnectBackoff(50, 2_000);
  const start = (): void => {
    if (stopped) return;
    onOpen();
    const stream = open();
    current = stream;
    stream.on('data', (m: T) => {
      backoff.reset();
      onMessage(m);
    });
    stream.on('error', (err: grpc.ServiceError) => {
      if (!stopped && err.code !== grpc.status.CANCELLED) logger.debug({ err: err.message }, `${what} watch failed; retrying`);
    });
    stream.on('close', () => {
      if (stopped || current !== stream) return;
      backoff.schedule(start);
    });
  };
  start();
  return () => {
    stopped = true;
    backoff.cancel();
    current?.cancel();
  };
}

/** Platform backed by the local platform server of `sluice up`. */
export class LocalPlatformClient implements Platform {
  readonly client: GrpcLocalPlatformClient;
  private readonly unsubscribers = new Set<Unsubscribe>();

  constructor(address: string, private readonly logger: Logger) {
    this.client = createPlatformGrpcClient(address);
  }

  watchFunctions(onEvent: (event: FunctionEvent) => void): Unsubscribe {
    // What this watcher was told exists, so that after a reconnect the functions deleted during the gap
    // (absent from the new initial list, which ends with SYNCED) are reported as deleted.
    const known = new Map<string, FunctionRecord>();
    let initial: Set<string> | undefined;
    const unsubscribe = keepWatching<FunctionEventMessage>(
      () => this.client.WatchFunctions({}),
      (m) => {
        if (m.type === 'EVENT_TYPE_SYNCED') {
          for (const [key, fn] of known) {
            if (initial?.has(key)) continue;
            known.delete(key);
            onEvent({ type: 'deleted', fn });
          }
          initial = undefined;
          return;
        }
        const type = EVENT_TYPES[m.type as string];
        if (!type) return;
        const key = functionKey({ namespace: m.namespace, name: m.name });
        initial?.add(key);
        try {
          const definition = parseFunctionDefinition(JSON.parse(m.spec_json), `platform function ${key}`);
          const fn: FunctionRecord = { namespace: m.namespace, name: m.name, generation: m.generation, definition };
          if (type === 'deleted') known.delete(key);
          else known.set(key, fn);
          onEvent({ type, fn });
        } catch (err) {
          this.logger.error({ err: (err as Error).message }, 'platform sent an invalid function');
        }
      },
      this.logger,
      'functions',
      () => (initial = new Set()),
    );
    return this.track(unsubscribe);
  }

  watchEndpoints(onUpdate: (update: FunctionEndpoints) => void): Unsubscribe {
    // As for functions: endpoints of functions missing from a reconnected watch's initial list are gone.
    const known = new Set<string>();
    let initial: Set<string> | undefined;
    const unsubscribe = keepWatching<EndpointsMessage>(
      () => this.client.WatchEndpoints({}),
      (m) => {
        if (m.synced) {
          for (const key of known) {
            if (initial?.has(key)) continue;
            known.delete(key);
            const [namespace, name] = key.split('/');
            onUpdate({ namespace, function: name, deleted: true, ready: [] });
          }
          initial = undefined;
          return;
        }
        const key = functionKey({ namespace: m.namespace, name: m.function });
        initial?.add(key);
        if (m.deleted) known.delete(key);
        else known.add(key);
        onUpdate({
          namespace: m.namespace,
          function: m.function,
          deleted: m.deleted,
          ready: m.ready.map((e) => ({ instanceName: e.instance_name, node: e.node, ip: e.ip, trafficPort: e.traffic_port })),
        });
      },
      this.logger,
      'endpoints',
      () => (initial = new Set()),
    );
    return this.track(unsubscribe);
  }

  setScale(namespace: string, name: string, desiredScale: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.SetScale({ namespace, function: name, desired_scale: desiredScale }, { deadline: Date.now() + 5_000 }, (err) =>
        err ? reject(err) : resolve(),
      );
    });
  }

  status(): Promise<ClusterStatus> {
    return new Promise((resolve, reject) => {
      this.client.GetStatus({}, { deadline: Date.now() + 5_000 }, (err, res) => (err || !res ? reject(err) : resolve(res)));
    });
  }

  private track(unsubscribe: Unsubscribe): Unsubscribe {
    const wrapped = (): void => {
      this.unsubscribers.delete(wrapped);
      unsubscribe();
    };
    this.unsubscribers.add(wrapped);
    return wrapped;
  }

  async close(): Promise<void> {
    for (const unsubscribe of [...this.unsubscribers]) unsubscribe();
    this.client.close();
  }
}
