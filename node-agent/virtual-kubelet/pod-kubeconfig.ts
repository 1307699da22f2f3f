// TEST INFRASTRUCTURE (virtual kubelet). In-cluster credentials without mount namespaces: a per-pod kubeconfig.
//
// A real kubelet projects the kube-api-access-* volume (a bound service account token, the cluster CA and the
// namespace) at /var/run/secrets/kubernetes.io/serviceaccount in each container. Processes here share the host's
// filesystem, so instead the virtual kubelet asks the TokenRequest API for a token of the pod's service account
// bound to the pod (same audience and expiry as the volume asks), writes this kubeconfig (server = the API server,
// CA = the cluster CA, namespace = the pod's) and sets KUBECONFIG in the container. Clients that use
// `KubeConfig.loadFromDefault()` / client-go's default loading rules behave as in-cluster.

/** Kubeconfig YAML (JSON is valid YAML) for one pod. */
export function podKubeconfig(input: { server: string; caData: string; token: string; namespace: string; serviceAccount: string }): string {
  const user = `system:serviceaccount:${input.namespace}:${input.serviceAccount}`;
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'in-cluster', cluster: { server: input.server, 'certificate-authority-data': input.caData } }],
    users: [{ name: user, user: { token: input.token } }],
    contexts: [{ name: 'in-cluster', context: { cluster: 'in-cluster', user, namespace: input.namespace } }],
    'current-context': 'in-cluster',
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** The TokenRequest a projected serviceAccountToken source asks for, bound to the pod. */
export function tokenRequest(pod: { name: string; uid: string }, source: { audience?: string; expirationSeconds?: number }): Record<string, unknown> {
  return {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: {
      // No audience = the API server's own audiences (what the auto-added volume uses).
      audiences: source.audience ? [source.audience] : [],
      expirationSeconds: source.expirationSeconds ?? 3607,
      boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.name, uid: pod.uid },
    },
  };
}

/** kubelet refreshes a projected token at 80 % of its lifetime (or after 24 h); capped so setTimeout stays in range. */
export function tokenRefreshDelayMs(issuedMs: number, expiresMs: number): number {
  const ttl = Math.max(0, expiresMs - issuedMs);
  return Math.min(Math.floor(ttl * 0.8), 24 * 3_600_000);
}
