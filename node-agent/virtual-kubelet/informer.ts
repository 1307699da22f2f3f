// TEST INFRASTRUCTURE (virtual kubelet). List + watch with a local store, the client-go reflector's loop in small.
//
// List (paginated), hand the differences to the handlers, then watch from the list's resourceVersion with
// bookmarks. A watch that ends normally (server timeout) is resumed from the last resourceVersion seen; a
// 410 Gone (as HTTP status or ERROR event) means that version is compacted away: list again. Other errors
// wait with a capped back-off and retry.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../lib/logger.js';
import { isGone, KubeApiError } from './kube-client.js';
import type { KubeClient, WatchEvent } from './kube-client.js';
import type { KubeObject, ObjectList } from './types.js';

export interface InformerHandlers<T> {
  onAdd?(object: T): void;
  onUpdate?(object: T, old: T): void;
  onDelete?(object: T): void;
}

export function objectKey(o: KubeObject): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
}

class Relist extends Error {}

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;

export class Informer<T extends KubeObject> {
  /** The current objects by `namespace/name` (or `name`). */
  readonly store = new Map<string, T>();
  private readonly abort = new AbortController();
  private resourceVersion = '';
  private markSynced!: () => void;
  /** Resolves after the first complete list has been handed to the handlers. */
  readonly synced = new Promise<void>((resolve) => (this.markSynced = resolve));
  private loop: Promise<void> | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly path: string,
    private readonly query: { fieldSelector?: string; labelSelector?: string },
    private readonly handlers: InformerHandlers<T>,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.logger.error({ err, path: this.path }, 'informer handler failed');
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        await this.list();
        failures = 0;
        this.markSynced();
        await this.watchUntilRelist();
      } catch (err) {
        if (this.stopped) break;
        failures++;
        this.logger.warn({ err: (err as Error).message, path: this.path }, 'list failed, retrying');
        await this.pause(failures);
      }
    }
  }

  private async pause(failures: number): Promise<void> {
    try {
      await sleep(Math.min(RETRY_MIN_MS * 2 ** (failures - 1), RETRY_MAX_MS), undefined, { signal: this.abort.signal });
    } catch {
      // stopped
    }
  }

  private async list(): Promise<void> {
    const items: T[] = [];
    let token: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.client.get<ObjectList<T>>(this.path, { ...this.query, limit: 500, continue: token }, this.abort.signal);
      items.push(...page.items);
      resourceVersion ||= page.metadata.resourceVersion ?? '';
      token = page.metadata.continue || undefined;
    } while (token);
    this.resourceVersion = resourceVersion;
    const seen = new Set<string>();
    for (const item of items) {
      const key = objectKey(item);
      seen.add(key);
      const old = this.store.get(key);
      this.store.set(key, item);
      if (!old) this.call(() => this.handlers.onAdd?.(item));
      else if (old.metadata.resourceVersion !== item.metadata.resourceVersion) this.call(() => this.handlers.onUpdate?.(item, old));
    }
    for (const [key, old] of [...this.store]) {
      if (seen.has(key)) continue;
      this.store.delete(key);
      this.call(() => this.handlers.onDelete?.(old));
    }
  }

  private onEvent(event: WatchEvent): void {
    if (event.type === 'ERROR') {
      const status = event.object as { code?: number; message?: string; reason?: string };
      if (status.code === 410) throw new Relist(status.message ?? 'resource version too old');
      throw new KubeApiError(`watch ${this.path}: ${status.message ?? 'error event'}`, status.code ?? 0, status.reason ?? '');
    }
    const object = event.object as unknown as T;
    if (object.metadata?.resourceVersion) this.resourceVersion = object.metadata.resourceVersion;
    if (event.type === 'BOOKMARK') return;
    const key = objectKey(object);
    const old = this.store.get(key);
    if (event.type === 'DELETED') {
      this.store.delete(key);
      this.call(() => this.handlers.onDelete?.(object));
    } else {
      this.store.set(key, object);
      if (old) this.call(() => this.handlers.onUpdate?.(object, old));
      else this.call(() => this.handlers.onAdd?.(object));
    }
  }

  /** Watches (resuming after normal ends and transient errors) until a relist is needed or the informer stops. */
  private async watchUntilRelist(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        await this.client.watch(
          this.path,
          {
            ...this.query,
            resourceVersion: this.resourceVersion,
            allowWatchBookmarks: true,
            // Spread the watches' ends like client-go (5–10 min).
            timeoutSeconds: 300 + Math.floor(Math.random() * 300),
          },
          (event) => this.onEvent(event),
          this.abort.signal,
        );
        failures = 0;
      } catch (err) {
        if (this.stopped) return;
        if (err instanceof Relist || isGone(err)) {
          this.logger.info({ path: this.path }, 'watch expired (410 Gone), listing again');
          return;
        }
        failures++;
        this.logger.warn({ err: (err as Error).message, path: this.path }, 'watch failed, retrying');
        await this.pause(failures);
      }
    }
  }
}
