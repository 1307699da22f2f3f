// A list+watch cache of one resource over client-node's informer, which relists on 410 Gone and re-watches when a watch ends; this adds restart after errors and a synced signal.
import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../logger.js';
import { ReconnectBackoff } from '../reconnect-backoff.js';
import { apiErrorMessage } from './client.js';

export interface InformerHandlers<T extends KubernetesObject> {
  onAdd?(obj: T): void;
  onUpdate?(obj: T): void;
  onDelete?(obj: T): void;
}

export interface InformerOptions<T extends KubernetesObject> extends InformerHandlers<T> {
  kubeConfig: KubeConfig;
  /** Watch path, e.g. /apis/apps/v1/deployments (all namespaces). */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  /** e.g. spec.nodeName=node-1; the list must apply the same selector. */
  fieldSelector?: string;
  logger: Logger;
  /** Names the resource in logs. */
  what: string;
}

export class Informer<T extends KubernetesObject> {
  private readonly inner;
  private readonly backoff = new ReconnectBackoff(200, 10_000);
  private stopped = false;
  private failedSinceStart = false;
  private syncedResolve!: () => void;
  /** Resolves once the first list succeeded and the watch runs: the cache is complete from then on. */
  readonly synced: Promise<void> = new Promise((resolve) => (this.syncedResolve = resolve));

  constructor(private readonly options: InformerOptions<T>) {
    this.inner = new ListWatch<T>(options.path, new Watch(options.kubeConfig), options.list, false, options.labelSelector, options.fieldSelector);
    if (options.onAdd) this.inner.on('add', options.onAdd);
    if (options.onUpdate) this.inner.on('update', options.onUpdate);
    if (options.onDelete) this.inner.on('delete', options.onDelete);
    // A connect with no resource version is a relist: the first list, or 410 Gone (history compacted, new watch cache).
    let listed = false;
    this.inner.on('connect', () => {
      if (this.inner.latestResourceVersion() !== '') return;
      if (listed) options.logger.info(`${options.what}: relisting (resource version expired or watch lost)`);
      listed = true;
    });
    // client-node stops on any error but 410; a controller must keep watching, so restart with backoff.
    this.inner.on('error', (err: unknown) => {
      this.failedSinceStart = true;
      if (this.stopped) return;
      options.logger.warn({ err: apiErrorMessage(err), delayMs: this.backoff.nextDelayMs }, `${options.what} watch failed; restarting`);
      this.backoff.schedule(() => void this.run());
    });
  }

  start(): this {
    void this.run();
    return this;
  }

  private async run(): Promise<void> {
    if (this.stopped) return;
    this.failedSinceStart = false;
    try {
      await this.inner.start();
    } catch (err) {
      this.failedSinceStart = true;
      this.options.logger.warn({ err: apiErrorMessage(err) }, `${this.options.what} list failed; retrying`);
      this.backoff.schedule(() => void this.run());
      return;
    }
    if (!this.failedSinceStart) {
      this.backoff.reset();
      this.syncedResolve();
    }
  }

  list(namespace?: string): readonly T[] {
    return this.inner.list(namespace);
  }

  get(namespace: string, name: string): T | undefined {
    return this.inner.get(name, namespace);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.backoff.cancel();
    await this.inner.stop();
  }
}
