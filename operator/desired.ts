// What a Function becomes on Kubernetes (pure): a Deployment (user container + queue-proxy sidecar) and a Service, both owned by the Function.
import type { V1Container, V1Deployment, V1EnvVar, V1OwnerReference, V1Service, V1Volume } from '@kubernetes/client-node';
import { FUNCTION_DEFAULTS, type FunctionDefinition } from '../lib/function-spec.js';
import { childName, GROUP, selectorLabels, VERSION } from '../lib/kubernetes/function-resource.js';
import { QUEUE_PROXY_ADMIN_PORT, QUEUE_PROXY_METRICS_PORT, QUEUE_PROXY_TRAFFIC_PORT, QUEUE_PROXY_XDT_PORT, queueProxyEnvName } from '../lib/queue-proxy-launch.js';

export interface DesiredConfig {
  queueProxyImage: string;
  imagePullPolicy: string;
  /** host:port the queue-proxies report stats to; "" = none. */
  autoscalerAddress: string;
  /** Ingress URL functions call for XDT invoke; "" = not set. */
  activatorUrl: string;
  schedulerName: string;
  /** Secret holding the XDT cluster key under `key`; "" = XDT off. */
  xdtSecret: string;
  /** Namespace of that Secret (the operator's); Secrets cannot be read across namespaces, so it is copied. */
  xdtSecretNamespace: string;
  /** Host routing suffix of the activator: the Function URL is http://<fn>.<ns>.<domain>. */
  domain: string;
  /**
   * PM (the chart's pm.hostPath): the node directory holding every node agent's PM directory, mounted at the same
   * path into each user container, which gets SLUICE_PM_DIR <pmHostPath>/<node>; "" = PM off (no volume, no env).
   */
  pmHostPath: string;
  /** Port of the node agents' PmNode gRPC (a hostPort): functions and queue-proxies reach their node's agent at <hostIP>:<pmPort>. */
  pmPort: number;
  /**
   * Port of the node agents' gRPC server as a hostPort, for XDT flow reports (the chart's pm.port, given with
   * flows.enabled): the queue-proxies report their pulls to their node's agent (FlowProfile) at
   * <hostIP>:<nodeAgentPort>, which feeds cost-model placement; 0 = no reports.
   */
  nodeAgentPort: number;
  /**
   * XDT same-node fast path (the chart's xdt.shm.hostPath): the node directory holding every node agent's segment
   * directory, mounted at the same path into each queue-proxy sidecar only (never the user container), which gets
   * xdt-shm-dir <xdtShmHostPath>/<node>; "" = off (no volume: every pull over TCP). Only with XDT on (xdtSecret).
   */
  xdtShmHostPath: string;
  /**
   * The uid the queue-proxy sidecars run as with the fast path on: the node agent's, which owns <hostPath>/<node>
   * (mode 0700), so that every queue-proxy of the node can create and open the segments there.
   */
  xdtShmUid: number;
}

/** The function's identity as the API server knows it. */
export interface FunctionIdentity {
  uid: string;
  definition: FunctionDefinition;
}

/** The copy of the XDT key Secret in a function's namespace. */
export const XDT_KEY_SECRET = 'sluice-xdt-key';

function ownerReference(identity: FunctionIdentity): V1OwnerReference {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'Function',
    name: identity.definition.metadata.name,
    uid: identity.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

function fieldEnv(name: string, fieldPath: string): V1EnvVar {
  return { name, valueFrom: { fieldRef: { fieldPath } } };
}

/** Downward-API variables first, so later values can refer to them as $(POD_IP). */
const POD_ENV: V1EnvVar[] = [fieldEnv('POD_IP', 'status.podIP'), fieldEnv('POD_NAME', 'metadata.name'), fieldEnv('NODE_NAME', 'spec.nodeName')];

const RESTRICTED = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  runAsNonRoot: true,
  seccompProfile: { type: 'RuntimeDefault' },
};

/** The pod volume of the node's PM directory (shared with the node agent, which creates <hostPath>/<node> in it). */
export const PM_VOLUME = 'sluice-pm';

function pmOn(config: DesiredConfig): boolean {
  return config.pmHostPath !== '';
}

/** The pod volume of the node's XDT segment directory (the node agent creates <hostPath>/<node> in it, 0700). */
export const XDT_SHM_VOLUME = 'sluice-xdt-shm';

/** The fast path needs XDT itself: without the key the queue-proxy has no data plane. */
function shmOn(config: DesiredConfig): boolean {
  return config.xdtShmHostPath !== '' && config.xdtSecret !== '';
}

/** A node agent's directory under a hostPath shared by every node's agent, as the agent names it (downward API spec.nodeName). */
function nodeDir(hostPath: string): string {
  return `${hostPath.replace(/\/+$/, '')}/$(NODE_NAME)`;
}

/** The node agent of the pod's node, through its hostPort `port`: the pod's own node, whatever pod network it has. */
function agentAt(port: number): string {
  return `$(HOST_IP):${port}`;
}

function pmAddress(config: DesiredConfig): string {
  return agentAt(config.pmPort);
}

/** The node agent's FlowProfile; undefined when the port is not exposed. */
function nodeAgentAddress(config: DesiredConfig): string | undefined {
  return config.nodeAgentPort > 0 ? agentAt(config.nodeAgentPort) : undefined;
}

/** HOST_IP only for a pod that dials its node's agent. */
function podEnv(config: DesiredConfig): V1EnvVar[] {
  return pmOn(config) || nodeAgentAddress(config) !== undefined ? [...POD_ENV, fieldEnv('HOST_IP', 'status.hostIP')] : POD_ENV;
}

function userContainer(def: FunctionDefinition, config: DesiredConfig): V1Container {
  const c = def.spec.container;
  const port = c.port ?? FUNCTION_DEFAULTS.port;
  const env: V1EnvVar[] = [...podEnv(config), ...(c.env ?? []).map((e) => ({ name: e.name, value: e.value }))];
  // Platform variables win over the spec, as locally (launch-plan.ts) and as Knative's PORT does.
  env.push(
    { name: 'PORT', value: String(port) },
    { name: 'HOST', value: '$(POD_IP)' },
    { name: 'SLUICE_NAMESPACE', value: def.metadata.namespace! },
    { name: 'SLUICE_FUNCTION', value: def.metadata.name },
    { name: 'SLUICE_INSTANCE', value: '$(POD_NAME)' },
  );
  if (config.xdtSecret !== '') env.push({ name: 'SLUICE_XDT_ADDRESS', value: `$(POD_IP):${XDT_LOCAL_PORT}` });
  if (config.activatorUrl !== '') env.push({ name: 'SLUICE_ACTIVATOR_URL', value: config.activatorUrl });
  // As the local node agent gives its instances (launch-plan.ts): the node's PM directory and its agent.
  if (pmOn(config)) {
    env.push(
      { name: 'SLUICE_PM_DIR', value: nodeDir(config.pmHostPath) },
      { name: 'SLUICE_PM_ADDRESS', value: pmAddress(config) },
    );
  }
  const { cpu, memory } = { ...FUNCTION_DEFAULTS, ...c.resources };
  return {
    name: 'user-container',
    image: c.image,
    imagePullPolicy: config.imagePullPolicy,
    ...(c.command ? { command: c.command } : {}),
    ...(c.args ? { args: c.args } : {}),
    env,
    ports: [{ name: 'user-port', containerPort: port }],
    resources: { requests: { cpu, memory }, limits: { memory } },
    // The same path as on the node, so SLUICE_PM_DIR names the directory the node agent times and admits.
    ...(pmOn(config) ? { volumeMounts: [{ name: PM_VOLUME, mountPath: config.pmHostPath }] } : {}),
  };
}

/** The SDK reaches its queue-proxy's XDT API over TCP on the pod IP (no shared socket directory between containers). */
const XDT_LOCAL_PORT = 8014;

function queueProxyContainer(def: FunctionDefinition, config: DesiredConfig): V1Container {
  const spec = def.spec;
  const settings: Record<string, string> = {
    namespace: def.metadata.namespace!,
    function: def.metadata.name,
    instance: '$(POD_NAME)',
    'bind-address': '$(POD_IP)',
    'traffic-port': String(QUEUE_PROXY_TRAFFIC_PORT),
    'admin-port': String(QUEUE_PROXY_ADMIN_PORT),
    'metrics-port': String(QUEUE_PROXY_METRICS_PORT),
    'user-host': '$(POD_IP)',
    'user-port': String(spec.container.port ?? FUNCTION_DEFAULTS.port),
    'container-concurrency': String(spec.containerConcurrency ?? FUNCTION_DEFAULTS.containerConcurrency),
    timeout: `${spec.timeoutSeconds ?? FUNCTION_DEFAULTS.timeoutSeconds}s`,
    'readiness-path': spec.container.readinessPath ?? '',
    'autoscaler-address': config.autoscalerAddress,
    node: '$(NODE_NAME)',
  };
  // PM-write admission: the queue-proxy asks its node's agent before dispatching a predicted writer.
  if (pmOn(config)) settings['pm-address'] = pmAddress(config);
  // XDT flow profile: the consumer's queue-proxy reports the pulls it finished to its node's agent, as locally
  // (launch-plan.ts); only an XDT data plane reports, so the setting is harmless without XDT.
  const agent = nodeAgentAddress(config);
  if (agent !== undefined) settings['node-agent-address'] = agent;
  const env: V1EnvVar[] = [...podEnv(config)];
  for (const [key, value] of Object.entries(settings)) env.push({ name: queueProxyEnvName(key), value });
  if (config.xdtSecret !== '') {
    env.push(
      { name: queueProxyEnvName('xdt-key'), valueFrom: { secretKeyRef: { name: XDT_KEY_SECRET, key: 'key' } } },
      { name: queueProxyEnvName('xdt-port'), value: String(QUEUE_PROXY_XDT_PORT) },
      { name: queueProxyEnvName('xdt-local-port'), value: String(XDT_LOCAL_PORT) },
    );
    // Same-node pulls through a segment in the node's shared-memory directory instead of TCP (queue-proxy/xdt/shm.ts).
    if (shmOn(config)) env.push({ name: queueProxyEnvName('xdt-shm-dir'), value: nodeDir(config.xdtShmHostPath) });
  }
  return {
    name: 'queue-proxy',
    image: config.queueProxyImage,
    imagePullPolicy: config.imagePullPolicy,
    env,
    ports: [
      { name: 'http', containerPort: QUEUE_PROXY_TRAFFIC_PORT },
      { name: 'xdt', containerPort: QUEUE_PROXY_XDT_PORT },
      { name: 'admin', containerPort: QUEUE_PROXY_ADMIN_PORT },
      { name: 'metrics', containerPort: QUEUE_PROXY_METRICS_PORT },
    ],
    // The queue-proxy probes the function itself and answers /ready only when the function is ready.
    readinessProbe: { httpGet: { path: '/ready', port: 'admin' }, periodSeconds: 1, failureThreshold: 3 },
    resources: { requests: { cpu: '25m', memory: '64Mi' }, limits: { memory: '256Mi' } },
    // With the fast path the uid is pinned to the directory owner's (the image's USER is 65532, and so is the agent's
    // by default): the directory is 0700 and each segment 0600, so producer and consumer must be that very uid.
    securityContext: shmOn(config) ? { ...RESTRICTED, runAsUser: config.xdtShmUid } : RESTRICTED,
    // The same path as on the node (what the test harness can give a process, too); the sidecar only: user code never sees a segment.
    ...(shmOn(config) ? { volumeMounts: [{ name: XDT_SHM_VOLUME, mountPath: config.xdtShmHostPath }] } : {}),
  };
}

/**
 * The Deployment, without `replicas`: the autoscaler owns scale through the scale subresource, and
 * leaving the field out of the operator's apply keeps the two from fighting over it.
 */
export function desiredDeployment(identity: FunctionIdentity, config: DesiredConfig): V1Deployment {
  const def = identity.definition;
  const name = def.metadata.name;
  const labels = { ...def.metadata.labels, ...selectorLabels(name) };
  const terminationGraceSeconds = (def.spec.timeoutSeconds ?? FUNCTION_DEFAULTS.timeoutSeconds) + 10;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: childName(name), namespace: def.metadata.namespace, labels, ownerReferences: [ownerReference(identity)] },
    spec: {
      selector: { matchLabels: selectorLabels(name) },
      // New instances must be ready before old ones go: the activator only routes to ready endpoints.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } },
      template: {
        metadata: { labels },
        spec: {
          schedulerName: config.schedulerName,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: terminationGraceSeconds,
          containers: [userContainer(def, config), queueProxyContainer(def, config)],
          ...volumes(config),
        },
      },
    },
  };
}

/**
 * DirectoryOrCreate: a pod that lands before its node agent still starts (the agent makes the directory writable
 * when it comes; until its XDT directory exists, the queue-proxy's pulls go over TCP).
 */
function volumes(config: DesiredConfig): { volumes?: V1Volume[] } {
  const out: V1Volume[] = [];
  if (pmOn(config)) out.push({ name: PM_VOLUME, hostPath: { path: config.pmHostPath, type: 'DirectoryOrCreate' } });
  if (shmOn(config)) out.push({ name: XDT_SHM_VOLUME, hostPath: { path: config.xdtShmHostPath, type: 'DirectoryOrCreate' } });
  return out.length > 0 ? { volumes: out } : {};
}

export function desiredService(identity: FunctionIdentity): V1Service {
  const def = identity.definition;
  const name = def.metadata.name;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: childName(name), namespace: def.metadata.namespace, labels: selectorLabels(name), ownerReferences: [ownerReference(identity)] },
    spec: {
      selector: selectorLabels(name),
      ports: [
        { name: 'http', port: QUEUE_PROXY_TRAFFIC_PORT, targetPort: 'http' },
        { name: 'xdt', port: QUEUE_PROXY_XDT_PORT, targetPort: 'xdt' },
        { name: 'metrics', port: QUEUE_PROXY_METRICS_PORT, targetPort: 'metrics' },
      ],
      // Ready endpoints only appear once the queue-proxy's /ready passes; the activator reads them.
      publishNotReadyAddresses: false,
    },
  };
}

/** Where the activator serves the function. */
export function functionUrl(def: FunctionDefinition, domain: string): string {
  return `http://${def.metadata.name}.${def.metadata.namespace}.${domain}`;
}
