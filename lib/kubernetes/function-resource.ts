// The Function custom resource (functions.sluice.dev): its API coordinates, object shape, and conversion to the platform's FunctionRecord.
import { createHash } from 'node:crypto';
import { CustomObjectsApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../logger.js';
import { Informer, type InformerHandlers } from './informer.js';
import { API_VERSION, KIND, parseFunctionDefinition, type FunctionDefinition, type FunctionSpec } from '../function-spec.js';
import type { FunctionRecord } from '../platform/types.js';

export const GROUP = 'sluice.dev';
export const VERSION = 'v1alpha1';
export const PLURAL = 'functions';
export const FUNCTIONS_PATH = `/apis/${GROUP}/${VERSION}/${PLURAL}`;

/** Labels Sluice puts on what it creates. */
export const FUNCTION_LABEL = 'sluice.dev/function';
export const MANAGED_BY_LABEL = 'sluice.dev/managed-by';
export const OPERATOR_NAME = 'sluice-operator';

/** A status condition as stored (metav1.Condition; the time an RFC 3339 string to the second). */
/** The operator's Deployment and Service of a function: `<fn>-sluice`, shortened with a hash past the 63-character label limit. */
export function childName(fn: string): string {
  const name = `${fn}-sluice`;
  if (name.length <= 63) return name;
  const hash = createHash('sha256').update(fn).digest('hex').slice(0, 8);
  return `${fn.slice(0, 63 - 8 - 8)}-${hash}-sluice`;
}

export function selectorLabels(fn: string): Record<string, string> {
  return { [FUNCTION_LABEL]: fn, [MANAGED_BY_LABEL]: OPERATOR_NAME };
}

export interface FunctionCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export interface FunctionStatus {
  observedGeneration?: number;
  url?: string;
  replicas?: number;
  readyReplicas?: number;
  conditions?: FunctionCondition[];
}

export interface FunctionResource extends KubernetesObject {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  spec: FunctionSpec;
  status?: FunctionStatus;
}

export type Conversion = { ok: true; record: FunctionRecord } | { ok: false; message: string };

/**
 * The API server validated the object against the CRD schema, but the CRD cannot express every
 * check (and older objects may predate one), so each object is checked again the local way.
 */
export function recordFromResource(resource: FunctionResource): Conversion {
  const { name, namespace, labels, annotations, generation } = resource.metadata ?? {};
  const value = {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, namespace, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) },
    spec: resource.spec,
  };
  let definition: FunctionDefinition;
  try {
    definition = parseFunctionDefinition(value, `Function ${namespace}/${name}`);
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
  return {
    ok: true,
    record: { namespace: definition.metadata.namespace!, name: definition.metadata.name, generation: generation ?? 1, definition },
  };
}

/** A cache (not yet started) of every Function in the cluster, as the operator, the scheduler and the platform watch them. */
export function functionInformer(kubeConfig: KubeConfig, logger: Logger, handlers: InformerHandlers<FunctionResource> = {}): Informer<FunctionResource> {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  return new Informer<FunctionResource>({
    kubeConfig,
    path: FUNCTIONS_PATH,
    list: () => custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL }),
    ...handlers,
    logger,
    what: 'functions',
  });
}
