// Kubernetes API access shared by the components: credentials the standard way, server-side apply, and readable API errors.
import { ApiException, KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { ConfigError } from '../config.js';

/** KUBECONFIG (or ~/.kube/config) when present, otherwise the pod's service account, as kubectl and client-go do. */
export function loadKubeConfig(component: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromDefault();
  } catch (err) {
    throw new ConfigError(`${component}: cannot load Kubernetes credentials (KUBECONFIG or in-cluster): ${(err as Error).message}`);
  }
  if (!kc.getCurrentCluster()) {
    throw new ConfigError(`${component}: no Kubernetes cluster configured: set KUBECONFIG or run in a pod with a service account`);
  }
  return kc;
}

/**
 * Server-side apply as `fieldManager`, forcing ownership of the fields it sets: the result is the
 * same however often it runs (no duplicates after a restart), and fields it leaves out stay with
 * whoever owns them (the autoscaler's replicas).
 */
export async function serverSideApply<T extends KubernetesObject>(api: KubernetesObjectApi, object: T, fieldManager: string): Promise<T> {
  return api.patch(object, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply);
}

/** The HTTP status of a failed API call, when it was one. */
export function apiStatusCode(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** The API server's own message ("Deployment.apps \"x\" is invalid: …") rather than client-node's wrapper text. */
export function apiErrorMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body: unknown = err.body;
    let parsed: unknown = body;
    if (typeof body === 'string') {
      try {
        parsed = JSON.parse(body);
      } catch {
        return `HTTP ${err.code}: ${body.slice(0, 500)}`;
      }
    }
    const message = (parsed as { message?: unknown } | undefined)?.message;
    return typeof message === 'string' ? message : `HTTP ${err.code}`;
  }
  return err instanceof Error ? err.message : String(err);
}
