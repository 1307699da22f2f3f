// The scheduler on Kubernetes: pending pods with our schedulerName are placed by the same schedule() as locally and bound with a Binding.
import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';
import { API_VERSION, KIND, type FunctionDefinition } from '../../lib/function-spec.js';
import type { Logger } from '../../lib/logger.js';
import { apiErrorMessage, apiStatusCode } from '../../lib/kubernetes/client.js';
import { eventRecorder } from '../../lib/kubernetes/events.js';
import { FUNCTION_LABEL, functionInformer, recordFromResource, type FunctionResource } from '../../lib/kubernetes/function-resource.js';
import { Informer } from '../../lib/kubernetes/informer.js';
import { WorkQueue } from '../../lib/kubernetes/work-queue.js';
import type { Profile } from '../framework.js';
import type { SchedulerMetrics } from '../metrics.js';
import { describeUnschedulable, schedule } from '../schedule.js';
import { nodeAgentTargets } from './node-agents.js';
import { DEFAULT_NODE_VIEW_TIMEOUT_MS, NodeAgentViews } from './pm-views.js';
import { frameworkPod, snapshotOf } from './snapshot.js';

export interface BinderOptions {
  kubeConfig: KubeConfig;
  schedulerName: string;
  profile: Profile;
  metrics: SchedulerMetrics;
  logger: Logger;
  random?: () => number;
  /** Longest wait before an unschedulable pod is tried again (cluster changes also retry it at once). */
  maxRetryDelayMs?: number;
  /**
   * Deadline of each node agent's GetNodePm and GetNodeFlows, asked in parallel before a placement (default 250 ms, as
   * locally); a node not answering in time has an unknown PM view and contributes no flows or link costs.
   */
  nodeViewTimeoutMs?: number;
}

export interface RunningBinder {
  synced: Promise<void>;
  close(): Promise<void>;
}

function podKey(pod: V1Pod): string {
  return `${pod.metadata!.namespace}/${pod.metadata!.name}`;
}

/** A pod that is not a Function's instance still gets placed: its own nodeSelector is the placement. */
function definitionFor(pod: V1Pod, fn: FunctionResource | undefined, logger: Logger): FunctionDefinition {
  const conversion = fn ? recordFromResource(fn) : undefined;
  if (conversion && !conversion.ok) logger.warn({ pod: podKey(pod), err: conversion.message }, 'Function of pod is invalid; placing by the pod alone');
  const base: FunctionDefinition = conversion?.ok
    ? conversion.record.definition
    : { apiVersion: API_VERSION, kind: KIND, metadata: { name: pod.metadata!.name!, namespace: pod.metadata!.namespace }, spec: { container: { image: pod.spec?.containers[0]?.image } } };
  const selector = { ...base.spec.placement?.nodeSelector, ...pod.spec?.nodeSelector };
  return Object.keys(selector).length === 0 ? base : { ...base, spec: { ...base.spec, placement: { ...base.spec.placement, nodeSelector: selector } } };
}

export function startBinder(options: BinderOptions): RunningBinder {
  const { kubeConfig, logger, metrics, profile } = options;
  const random = options.random ?? Math.random;
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const events = eventRecorder(core, options.schedulerName, logger);
  const queue = new WorkQueue({ baseDelayMs: 100, maxDelayMs: options.maxRetryDelayMs ?? 10_000 });
  /** Pods bound here that the watch has not shown bound yet: their resources are taken already. */
  const assumed = new Map<string, V1Pod>();
  /** Unschedulable pods, retried at once when a node or pod changes (something may fit now). */
  const unschedulable = new Map<string, string>();
  /**
   * The node agents' PM views (GetNodePm, for pm-writer-spread) and XDT flows and link costs (GetNodeFlows, for
   * cost-model); the agents are pods of the node-agent DaemonSet.
   */
  const agentViews = new NodeAgentViews(logger, options.nodeViewTimeoutMs ?? DEFAULT_NODE_VIEW_TIMEOUT_MS);

  const isOurs = (pod: V1Pod): boolean => pod.spec?.schedulerName === options.schedulerName;
  const onPod = (pod: V1Pod): void => {
    const k = podKey(pod);
    if (pod.spec?.nodeName) {
      assumed.delete(k);
      unschedulable.delete(k);
      return;
    }
    if (isOurs(pod) && !pod.metadata?.deletionTimestamp) queue.add(k);
  };
  const retryUnschedulable = (): void => {
    for (const k of unschedulable.keys()) queue.add(k);
  };

  const pods = new Informer<V1Pod>({
    kubeConfig,
    path: '/api/v1/pods',
    list: () => core.listPodForAllNamespaces(),
    onAdd: onPod,
    onUpdate: onPod,
    onDelete: (pod) => {
      assumed.delete(podKey(pod));
      unschedulable.delete(podKey(pod));
      // A pod that leaves frees room.
      if (pod.spec?.nodeName) retryUnschedulable();
    },
    logger,
    what: 'pods',
  });
  const nodes = new Informer<V1Node>({
    kubeConfig,
    path: '/api/v1/nodes',
    list: () => core.listNode(),
    onAdd: retryUnschedulable,
    onUpdate: retryUnschedulable,
    logger,
    what: 'nodes',
  });
  const functions = functionInformer(kubeConfig, logger);
  const informers = [pods, nodes, functions];
  for (const informer of informers) informer.start();
  const synced = Promise.all(informers.map((i) => i.synced)).then(() => logger.info({ schedulerName: options.schedulerName }, 'scheduler caches synced'));

  async function markUnschedulable(pod: V1Pod, message: string): Promise<void> {
    const k = podKey(pod);
    const before = unschedulable.get(k);
    unschedulable.set(k, message);
    if (before === message) return;
    logger.info({ pod: k, reason: message }, 'pod unschedulable');
    events.record({ ...pod, apiVersion: 'v1', kind: 'Pod' }, 'Warning', 'FailedScheduling', message);
    await core.patchNamespacedPodStatus(
      {
        name: pod.metadata!.name!,
        namespace: pod.metadata!.namespace!,
        body: { status: { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastTransitionTime: new Date() }] } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
  }

  async function scheduleOne(k: string): Promise<'done' | 'retry'> {
    const [namespace, name] = k.split('/');
    const pod = pods.get(namespace, name);
    if (!pod || pod.spec?.nodeName || pod.metadata?.deletionTimestamp || !isOurs(pod) || assumed.has(k)) return 'done';
    const fnName = pod.metadata?.labels?.[FUNCTION_LABEL];
    const definition = definitionFor(pod, fnName === undefined ? undefined : functions.get(namespace, fnName), logger);
    // Asked now (predictions and flows change with every invocation), at most nodeViewTimeoutMs.
    const { pm, flows } = await agentViews.get(nodeAgentTargets(pods.list()));
    const current = pods.get(namespace, name);
    if (!current || current.spec?.nodeName || current.metadata?.deletionTimestamp) return 'done';
    const nodeList = nodes.list();
    const { snapshot, unavailable } = snapshotOf(nodeList, [...pods.list(), ...assumed.values()], pm, flows);
    const stopTimer = metrics.duration.startTimer();
    const result = schedule(frameworkPod(pod, definition), snapshot, profile, random);
    stopTimer();
    metrics.attempts.inc({ result: result.code });
    if (result.code === 'error') {
      logger.error({ pod: k, err: result.message }, 'scheduling failed');
      return 'retry';
    }
    if (result.code === 'unschedulable') {
      const message = describeUnschedulable({ ...unavailable, ...result.reasons }, nodeList.length);
      await markUnschedulable(pod, message);
      return 'retry';
    }
    try {
      await core.createNamespacedPodBinding({ name, namespace, body: { metadata: { name, namespace }, target: { apiVersion: 'v1', kind: 'Node', name: result.node } } });
    } catch (err) {
      // 409: bound meanwhile (e.g. by an earlier attempt whose answer was lost); the watch will show it.
      if (apiStatusCode(err) === 409) return 'done';
      throw err;
    }
    assumed.set(k, { ...pod, spec: { ...pod.spec!, nodeName: result.node } });
    unschedulable.delete(k);
    events.record({ ...pod, apiVersion: 'v1', kind: 'Pod' }, 'Normal', 'Scheduled', `Successfully assigned ${k} to ${result.node}`);
    logger.info({ pod: k, node: result.node, score: result.scores[0]?.total, pmViews: pm.size, flowViews: flows.size, flows: snapshot.flows?.length ?? 0, linkCosts: snapshot.linkCosts?.length ?? 0 }, 'pod bound');
    return 'done';
  }

  let stopping = false;
  const worker = (async () => {
    await synced;
    while (!stopping) {
      const k = await queue.get();
      if (k === undefined) return;
      try {
        if ((await scheduleOne(k)) === 'retry') queue.retry(k);
        else queue.forget(k);
      } catch (err) {
        logger.warn({ pod: k, err: apiErrorMessage(err) }, 'binding failed; retrying');
        queue.retry(k);
      } finally {
        queue.done(k);
      }
    }
  })();

  return {
    synced,
    async close() {
      stopping = true;
      queue.shutDown();
      await Promise.all(informers.map((i) => i.stop()));
      await worker;
      agentViews.close();
    },
  };
}
