// FakePlatform for autoscaler tests: functions, ready counts and recorded setScale calls, all in memory.
import { parseFunctionDefinition, type ScalingSpec } from '../lib/function-spec.js';
import type { FunctionEndpoints, FunctionEvent, FunctionRecord, Platform, Unsubscribe } from '../lib/platform/types.js';

export interface ScaleCall {
  namespace: string;
  name: string;
  desiredScale: number;
}

/** A Function definition for tests, in namespace "default". */
export function testFunction(name: string, scaling?: ScalingSpec, containerConcurrency = 0): FunctionRecord {
  const definition = parseFunctionDefinition(
    {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Function',
      metadata: { name, namespace: 'default' },
      spec: { container: { command: ['node', 'fn.js'] }, containerConcurrency, ...(scaling ? { scaling } : {}) },
    },
    `test function ${name}`,
  );
  return { namespace: 'default', name, generation: 1, definition };
}

/**
 * FakePlatform: a test fake implementing Platform. Tests add and delete functions, set ready
 * counts, and read the setScale calls the autoscaler made; it starts no instances.
 */
export class FakePlatform implements Platform {
  readonly scaleCalls: ScaleCall[] = [];
  /** When > 0, that many next setScale calls reject. */
  failSetScale = 0;
  private readonly functions = new Map<string, FunctionRecord>();
  private readonly ready = new Map<string, number>();
  private readonly functionWatchers = new Set<(event: FunctionEvent) => void>();
  private readonly endpointWatchers = new Set<(update: FunctionEndpoints) => void>();
  private readonly scaleWaiters = new Set<() => void>();

  watchFunctions(onEvent: (event: FunctionEvent) => void): Unsubscribe {
    for (const fn of this.functions.values()) onEvent({ type: 'added', fn });
    this.functionWatchers.add(onEvent);
    return () => this.functionWatchers.delete(onEvent);
  }

  watchEndpoints(onUpdate: (update: FunctionEndpoints) => void): Unsubscribe {
    for (const fn of this.functions.values()) onUpdate(this.endpoints(fn.namespace, fn.name, false));
    this.endpointWatchers.add(onUpdate);
    return () => this.endpointWatchers.delete(onUpdate);
  }

  async setScale(namespace: string, name: string, desiredScale: number): Promise<void> {
    if (this.failSetScale > 0) {
      this.failSetScale--;
      throw new Error('fake setScale failure');
    }
    this.scaleCalls.push({ namespace, name, desiredScale });
    for (const wake of [...this.scaleWaiters]) wake();
  }

  async close(): Promise<void> {
    this.functionWatchers.clear();
    this.endpointWatchers.clear();
  }

  /** Adds (or modifies) a function; `withEndpoints` also reports its ready count, as a real platform would. */
  apply(fn: FunctionRecord, withEndpoints = true): void {
    const key = `${fn.namespace}/${fn.name}`;
    const type = this.functions.has(key) ? 'modified' : 'added';
    this.functions.set(key, fn);
    for (const watcher of this.functionWatchers) watcher({ type, fn });
    if (withEndpoints && type === 'added') this.setReady(fn.namespace, fn.name, this.ready.get(key) ?? 0);
  }

  delete(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const fn = this.functions.get(key);
    if (!fn) return;
    this.functions.delete(key);
    this.ready.delete(key);
    for (const watcher of this.functionWatchers) watcher({ type: 'deleted', fn });
    for (const watcher of this.endpointWatchers) watcher(this.endpoints(namespace, name, true));
  }

  setReady(namespace: string, name: string, ready: number): void {
    this.ready.set(`${namespace}/${name}`, ready);
    for (const watcher of this.endpointWatchers) watcher(this.endpoints(namespace, name, false));
  }

  lastScale(namespace: string, name: string): number | undefined {
    for (let i = this.scaleCalls.length - 1; i >= 0; i--) {
      const call = this.scaleCalls[i];
      if (call.namespace === namespace && call.name === name) return call.desiredScale;
    }
    return undefined;
  }

  /** Resolves with the first setScale call (past or future) matching `predicate`; rejects after `timeoutMs`. */
  waitForScale(predicate: (call: ScaleCall) => boolean, timeoutMs = 2_000): Promise<ScaleCall> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.scaleCalls.find(predicate);
        if (!found) return false;
        cleanup();
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no matching setScale within ${timeoutMs} ms; calls: ${JSON.stringify(this.scaleCalls)}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.scaleWaiters.delete(wake);
      };
      const wake = (): void => void check();
      if (!check()) this.scaleWaiters.add(wake);
    });
  }

  private endpoints(namespace: string, name: string, deleted: boolean): FunctionEndpoints {
    const count = deleted ? 0 : (this.ready.get(`${namespace}/${name}`) ?? 0);
    const ready = Array.from({ length: count }, (_, i) => ({
      instanceName: `${name}-${i}`,
      node: 'node-1',
      ip: `127.0.1.${i + 2}`,
      trafficPort: 8012,
    }));
    return { namespace, function: name, ready, deleted };
  }
}
