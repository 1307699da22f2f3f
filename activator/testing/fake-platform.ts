// FakePlatform: a test fake of the Platform interface whose functions and endpoints the test sets directly.
import type { FunctionDefinition } from '../../lib/function-spec.js';
import type { Endpoint, FunctionEndpoints, FunctionEvent, FunctionRecord, Platform, Unsubscribe } from '../../lib/platform/types.js';

export interface FakeFunctionOptions {
  containerConcurrency?: number;
  timeoutSeconds?: number;
}

/**
 * Test fake: an in-memory Platform. `setFunction`/`deleteFunction`/`setEndpoints` play the
 * watch events a real platform would send; `setScale` calls are recorded.
 */
export class FakePlatform implements Platform {
  private readonly functions = new Map<string, FunctionRecord>();
  private readonly endpoints = new Map<string, FunctionEndpoints>();
  private readonly functionWatchers = new Set<(event: FunctionEvent) => void>();
  private readonly endpointWatchers = new Set<(update: FunctionEndpoints) => void>();
  readonly scaleCalls: Array<{ namespace: string; name: string; desiredScale: number }> = [];

  setFunction(namespace: string, name: string, options: FakeFunctionOptions = {}): void {
    const key = `${namespace}/${name}`;
    const previous = this.functions.get(key);
    const definition: FunctionDefinition = {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Function',
      metadata: { name, namespace },
      spec: {
        container: { command: ['node', 'fn.js'] },
        containerConcurrency: options.containerConcurrency ?? 0,
        timeoutSeconds: options.timeoutSeconds ?? 300,
      },
    };
    const fn: FunctionRecord = { namespace, name, generation: (previous?.generation ?? 0) + 1, definition };
    this.functions.set(key, fn);
    for (const watcher of this.functionWatchers) watcher({ type: previous ? 'modified' : 'added', fn });
  }

  deleteFunction(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const fn = this.functions.get(key);
    if (!fn) return;
    this.functions.delete(key);
    for (const watcher of this.functionWatchers) watcher({ type: 'deleted', fn });
  }

  setEndpoints(namespace: string, name: string, ready: Endpoint[]): void {
    const update: FunctionEndpoints = { namespace, function: name, ready, deleted: false };
    this.endpoints.set(`${namespace}/${name}`, update);
    for (const watcher of this.endpointWatchers) watcher(update);
  }

  watchFunctions(onEvent: (event: FunctionEvent) => void): Unsubscribe {
    for (const fn of this.functions.values()) onEvent({ type: 'added', fn });
    this.functionWatchers.add(onEvent);
    return () => this.functionWatchers.delete(onEvent);
  }

  watchEndpoints(onUpdate: (update: FunctionEndpoints) => void): Unsubscribe {
    for (const update of this.endpoints.values()) onUpdate(update);
    this.endpointWatchers.add(onUpdate);
    return () => this.endpointWatchers.delete(onUpdate);
  }

  async setScale(namespace: string, name: string, desiredScale: number): Promise<void> {
    this.scaleCalls.push({ namespace, name, desiredScale });
  }

  async close(): Promise<void> {
    this.functionWatchers.clear();
    this.endpointWatchers.clear();
  }
}
