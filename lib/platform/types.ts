// The platform interface: what the control plane needs from the world, implemented by the local platform and (later) Kubernetes.
import type { FunctionDefinition } from '../function-spec.js';

export interface FunctionRecord {
  namespace: string;
  name: string;
  /** Increases whenever the definition changes. */
  generation: number;
  definition: FunctionDefinition;
}

export type WatchEventType = 'added' | 'modified' | 'deleted';

export interface FunctionEvent {
  type: WatchEventType;
  fn: FunctionRecord;
}

/** A ready instance of a function, as the activator sees it. */
export interface Endpoint {
  instanceName: string;
  node: string;
  ip: string;
  trafficPort: number;
}

export interface FunctionEndpoints {
  namespace: string;
  function: string;
  /** The full list of ready instances (not a delta). */
  ready: Endpoint[];
  deleted: boolean;
}

export type Unsubscribe = () => void;

export interface Platform {
  /** Calls `onEvent` with every function as 'added', then with each change. */
  watchFunctions(onEvent: (event: FunctionEvent) => void): Unsubscribe;
  /** Calls `onUpdate` with the endpoints of every function, then on each change. */
  watchEndpoints(onUpdate: (update: FunctionEndpoints) => void): Unsubscribe;
  /** Sets the desired number of instances (the autoscaler's actuation). */
  setScale(namespace: string, name: string, desiredScale: number): Promise<void>;
  close(): Promise<void>;
}
