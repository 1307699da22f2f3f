// TEST INFRASTRUCTURE (virtual kubelet). A container's environment, resolved exactly as kubelet's makeEnvironmentVariables does.
//
// Order of resolution (kubelet, pkg/kubelet/kubelet_pods.go):
//  1. envFrom, in order (configMapRef / secretRef, each key with the prefix); later sources win;
//  2. env, in order: a non-empty `value` is `$(VAR)`-expanded against the variables defined so far and then
//     the Service variables; otherwise valueFrom is resolved (fieldRef, resourceFieldRef, configMapKeyRef,
//     secretKeyRef); an optional reference to a missing object or key leaves the variable out;
//  3. the Service variables not already defined.
// A missing required ConfigMap, Secret or key is an error (kubelet: the container waits with
// CreateContainerConfigError and is retried). Everything here is pure: the caller fetches what
// `referencedObjects` names and passes it in.
import { expand, mappingFor } from './expansion.js';
import { isZero, parseQuantity, quantityMilliValue, quantityValue } from './quantity.js';
import { serviceEnvVars } from './service-env.js';
import type { ConfigMap, Container, Pod, Secret, Service } from './types.js';

export interface EnvInputs {
  pod: Pod;
  container: Container;
  podIPs: readonly string[];
  hostIPs: readonly string[];
  /** Every Service of the cluster (the `kubernetes` Service of `default` included). */
  services: readonly Service[];
  /** By name, in the pod's namespace; null = does not exist. */
  configMaps: ReadonlyMap<string, ConfigMap | null>;
  secrets: ReadonlyMap<string, Secret | null>;
  /** The node's allocatable cpu / memory / ephemeral-storage: the downward API's value for an unset limit. */
  nodeAllocatable: Readonly<Record<string, string>>;
}

export type EnvResult = { ok: true; env: Map<string, string> } | { ok: false; error: string };

/** The ConfigMaps and Secrets a container's env and envFrom refer to (what the caller must fetch). */
export function referencedObjects(container: Container): { configMaps: Set<string>; secrets: Set<string> } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) configMaps.add(from.configMapRef.name);
    if (from.secretRef) secrets.add(from.secretRef.name);
  }
  for (const env of container.env ?? []) {
    if (env.value) continue;
    if (env.valueFrom?.configMapKeyRef) configMaps.add(env.valueFrom.configMapKeyRef.name);
    if (env.valueFrom?.secretKeyRef) secrets.add(env.valueFrom.secretKeyRef.name);
  }
  return { configMaps, secrets };
}

class EnvError extends Error {}

function decodeSecret(value: string): string {
  return Buffer.from(value, 'base64').toString('utf8');
}

/** Go's strconv.Quote for the common case (what FormatMap writes for metadata.labels / annotations). */
function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** pkg/fieldpath.FormatMap: `key="value"` lines, keys sorted. */
export function formatMap(m: Readonly<Record<string, string>> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${goQuote(m![k])}`)
    .join('\n');
}

/** `metadata.labels['app']` → ["metadata.labels", "app"] (fieldpath.SplitMaybeSubscriptedPath). */
function splitSubscript(path: string): [string, string] | undefined {
  if (!path.endsWith("']")) return undefined;
  const s = path.slice(0, -2);
  const i = s.indexOf("['");
  if (i <= 0) return undefined;
  return [s.slice(0, i), s.slice(i + 2)];
}

/** The value of a downward API fieldRef (kubelet's podFieldSelectorRuntimeValue). */
export function fieldRefValue(pod: Pod, apiVersion: string | undefined, fieldPath: string, podIPs: readonly string[], hostIPs: readonly string[]): string {
  if ((apiVersion ?? 'v1') !== 'v1') throw new EnvError(`unsupported pod version: ${apiVersion}`);
  const sub = splitSubscript(fieldPath);
  if (sub) {
    const [path, key] = sub;
    if (path === 'metadata.labels') return pod.metadata.labels?.[key] ?? '';
    if (path === 'metadata.annotations') return pod.metadata.annotations?.[key] ?? '';
    throw new EnvError(`field label does not support subscript: ${fieldPath}`);
  }
  switch (fieldPath === 'spec.host' ? 'spec.nodeName' : fieldPath) {
    case 'spec.nodeName':
      return pod.spec.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? '';
    case 'status.hostIP':
      return hostIPs[0] ?? '';
    case 'status.hostIPs':
      return hostIPs.join(',');
    case 'status.podIP':
      return podIPs[0] ?? '';
    case 'status.podIPs':
      return podIPs.join(',');
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'metadata.labels':
      return formatMap(pod.metadata.labels);
    case 'metadata.annotations':
      return formatMap(pod.metadata.annotations);
    default:
      throw new EnvError(`unsupported fieldPath: ${fieldPath}`);
  }
}

function quantity(text: string | number | undefined, what: string) {
  const q = parseQuantity(text ?? '0');
  if (!q) throw new EnvError(`${what}: "${text}" is not a quantity`);
  return q;
}

/** A limit that is unset or zero takes the node's allocatable (kubelet's MergeContainerResourceLimits). */
function effectiveLimit(container: Container, resource: string, allocatable: Readonly<Record<string, string>>): string {
  const limit = container.resources?.limits?.[resource];
  if (limit !== undefined && !isZero(quantity(limit, `limits.${resource}`))) return limit;
  return allocatable[resource] ?? limit ?? '0';
}

/** The value of a resourceFieldRef (resource.ExtractContainerResourceValue, limits defaulted to the node's allocatable). */
export function resourceFieldRefValue(
  pod: Pod,
  container: Container,
  ref: { containerName?: string; resource: string; divisor?: string | number },
  allocatable: Readonly<Record<string, string>>,
): string {
  let target = container;
  let defaulted = true;
  if (ref.containerName) {
    const regular = pod.spec.containers.find((c) => c.name === ref.containerName);
    const init = pod.spec.initContainers?.find((c) => c.name === ref.containerName);
    if (!regular && !init) throw new EnvError(`container ${ref.containerName} not found`);
    target = (regular ?? init)!;
    // kubelet defaults the limits of the pod's regular containers only.
    defaulted = regular !== undefined;
  }
  const divisorQ = quantity(ref.divisor ?? '0', 'divisor');
  const divisor = isZero(divisorQ) ? parseQuantity('1')! : divisorQ;
  const dot = ref.resource.indexOf('.');
  const kind = ref.resource.slice(0, dot);
  const resource = ref.resource.slice(dot + 1);
  if (dot < 0 || (kind !== 'limits' && kind !== 'requests') || !['cpu', 'memory', 'ephemeral-storage'].includes(resource)) {
    if (/^(limits|requests)\.hugepages-/.test(ref.resource)) {
      const value = kind === 'limits' ? target.resources?.limits?.[resource] : target.resources?.requests?.[resource];
      return ceilRatio(quantityValue(quantity(value, ref.resource)), quantityValue(divisor));
    }
    throw new EnvError(`unsupported container resource : ${ref.resource}`);
  }
  const value =
    kind === 'limits'
      ? defaulted
        ? effectiveLimit(target, resource, allocatable)
        : (target.resources?.limits?.[resource] ?? '0')
      : (target.resources?.requests?.[resource] ?? '0');
  const q = quantity(value, ref.resource);
  return resource === 'cpu'
    ? ceilRatio(quantityMilliValue(q), quantityMilliValue(divisor))
    : ceilRatio(quantityValue(q), quantityValue(divisor));
}

/** Go: int64(math.Ceil(float64(a) / float64(b))). */
function ceilRatio(a: bigint, b: bigint): string {
  return String(Math.ceil(Number(a) / Number(b)));
}

/** The caller fetched everything referencedObjects named; absent (not asked for) counts as missing. */
function lookup<T>(objects: ReadonlyMap<string, T | null>, name: string): T | null {
  return objects.get(name) ?? null;
}

/** Resolves the container's environment; `{ok: false}` carries kubelet's error message. */
export function resolveEnv(input: EnvInputs): EnvResult {
  const { pod, container } = input;
  const namespace = pod.metadata.namespace ?? 'default';
  const serviceEnv = serviceEnvVars(input.services, namespace, pod.spec.enableServiceLinks ?? true);
  const env = new Map<string, string>();
  try {
    for (const from of container.envFrom ?? []) {
      const prefix = from.prefix ?? '';
      if (from.configMapRef) {
        const cm = lookup(input.configMaps, from.configMapRef.name);
        if (!cm) {
          if (from.configMapRef.optional) continue;
          throw new EnvError(`configmap "${from.configMapRef.name}" not found`);
        }
        for (const [k, v] of Object.entries(cm.data ?? {})) env.set(prefix + k, v);
      } else if (from.secretRef) {
        const secret = lookup(input.secrets, from.secretRef.name);
        if (!secret) {
          if (from.secretRef.optional) continue;
          throw new EnvError(`secret "${from.secretRef.name}" not found`);
        }
        for (const [k, v] of Object.entries(secret.data ?? {})) env.set(prefix + k, decodeSecret(v));
      }
    }

    // `env` grows as variables are defined, so later values can refer to earlier ones.
    const mapping = mappingFor(env, serviceEnv);
    for (const variable of container.env ?? []) {
      let value = variable.value ?? '';
      if (value !== '') {
        value = expand(value, mapping);
      } else if (variable.valueFrom) {
        const from = variable.valueFrom;
        if (from.fieldRef) {
          value = fieldRefValue(pod, from.fieldRef.apiVersion, from.fieldRef.fieldPath, input.podIPs, input.hostIPs);
        } else if (from.resourceFieldRef) {
          value = resourceFieldRefValue(pod, container, from.resourceFieldRef, input.nodeAllocatable);
        } else if (from.configMapKeyRef) {
          const { name, key, optional } = from.configMapKeyRef;
          const cm = lookup(input.configMaps, name);
          if (!cm) {
            if (optional) continue;
            throw new EnvError(`configmap "${name}" not found`);
          }
          if (!Object.hasOwn(cm.data ?? {}, key)) {
            if (optional) continue;
            throw new EnvError(`couldn't find key ${key} in ConfigMap ${namespace}/${name}`);
          }
          value = cm.data![key];
        } else if (from.secretKeyRef) {
          const { name, key, optional } = from.secretKeyRef;
          const secret = lookup(input.secrets, name);
          if (!secret) {
            if (optional) continue;
            throw new EnvError(`secret "${name}" not found`);
          }
          if (!Object.hasOwn(secret.data ?? {}, key)) {
            if (optional) continue;
            throw new EnvError(`couldn't find key ${key} in Secret ${namespace}/${name}`);
          }
          value = decodeSecret(secret.data![key]);
        } else if (from.fileKeyRef) {
          throw new EnvError(`env ${variable.name}: fileKeyRef is not supported by the virtual kubelet (it has no volumes)`);
        }
      }
      env.set(variable.name, value);
    }
  } catch (err) {
    if (err instanceof EnvError) return { ok: false, error: err.message };
    throw err;
  }
  for (const [k, v] of serviceEnv) if (!env.has(k)) env.set(k, v);
  return { ok: true, env };
}
