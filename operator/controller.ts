// The operator's control loop: informers on Functions and what it owns feed a work queue; workers reconcile one Function at a time each.
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  type KubeConfig,
  type KubernetesObject,
  type V1Deployment,
  type V1Service,
} from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { Logger } from '../lib/logger.js';
import { apiErrorMessage } from '../lib/kubernetes/client.js';
import { FUNCTION_LABEL, functionInformer, MANAGED_BY_LABEL, OPERATOR_NAME } from '../lib/kubernetes/function-resource.js';
import { Informer } from '../lib/kubernetes/informer.js';
import { WorkQueue } from '../lib/kubernetes/work-queue.js';
import type { OperatorConfig } from './config.js';
import { createOperatorMetrics } from './metrics.js';
import { FunctionReconciler } from './reconciler.js';

export interface RunningOperator {
  /** Resolves once every informer has listed: reconciles start from then on. */
  synced: Promise<void>;
  close(): Promise<void>;
}

function key(obj: KubernetesObject): string {
  return `${obj.metadata!.namespace}/${obj.metadata!.name}`;
}

/** An owned object's Function, by the label the operator put on it. */
function ownerKey(obj: KubernetesObject): string | undefined {
  const fn = obj.metadata?.labels?.[FUNCTION_LABEL];
  return fn === undefined ? undefined : `${obj.metadata!.namespace}/${fn}`;
}

export function startOperator(config: OperatorConfig, deps: { kubeConfig: KubeConfig; logger: Logger; registry: Registry }): RunningOperator {
  const { kubeConfig, logger } = deps;
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const reconciler = new FunctionReconciler(config, { objects: KubernetesObjectApi.makeApiClient(kubeConfig), custom, core, logger });
  const queue = new WorkQueue();
  const metrics = createOperatorMetrics(deps.registry, queue);

  const enqueue = (obj: KubernetesObject): void => queue.add(key(obj));
  const enqueueOwner = (obj: KubernetesObject): void => {
    const owner = ownerKey(obj);
    if (owner !== undefined) queue.add(owner);
  };
  const owned = `${MANAGED_BY_LABEL}=${OPERATOR_NAME}`;

  // Owner references let the garbage collector remove the children: deletes need nothing here.
  const functions = functionInformer(kubeConfig, logger, { onAdd: enqueue, onUpdate: enqueue });
  const deployments = new Informer<V1Deployment>({
    kubeConfig,
    path: '/apis/apps/v1/deployments',
    list: () => apps.listDeploymentForAllNamespaces({ labelSelector: owned }),
    labelSelector: owned,
    onAdd: enqueueOwner,
    onUpdate: enqueueOwner,
    onDelete: enqueueOwner,
    logger,
    what: 'deployments',
  });
  const services = new Informer<V1Service>({
    kubeConfig,
    path: '/api/v1/services',
    list: () => core.listServiceForAllNamespaces({ labelSelector: owned }),
    labelSelector: owned,
    onDelete: enqueueOwner,
    logger,
    what: 'services',
  });
  const informers = [functions, deployments, services];
  for (const informer of informers) informer.start();
  const synced = Promise.all(informers.map((i) => i.synced)).then(() => {
    logger.info({ functions: functions.list().length }, 'operator caches synced');
  });

  let stopping = false;
  const work = async (): Promise<void> => {
    await synced;
    while (!stopping) {
      const k = await queue.get();
      if (k === undefined) return;
      const [namespace, name] = k.split('/');
      const fn = functions.get(namespace, name);
      const stopTimer = metrics.duration.startTimer();
      try {
        if (fn === undefined || fn.metadata?.deletionTimestamp) {
          queue.forget(k);
          continue;
        }
        const result = await reconciler.reconcile(fn);
        metrics.reconciles.inc({ result });
        queue.forget(k);
      } catch (err) {
        metrics.reconciles.inc({ result: 'error' });
        const delayMs = queue.retry(k);
        logger.warn({ function: k, err: apiErrorMessage(err), retryInMs: Math.round(delayMs), failures: queue.failureCount(k) }, 'reconcile failed');
      } finally {
        stopTimer();
        queue.done(k);
      }
    }
  };
  const workers = Array.from({ length: config.workers }, () => work());

  // Resync: reconcile everything now and then, repairing what no event reported (e.g. a hand-edited child).
  const resync = setInterval(() => {
    for (const fn of functions.list()) enqueue(fn);
  }, config.resyncPeriodMs);
  resync.unref();

  return {
    synced,
    async close() {
      stopping = true;
      clearInterval(resync);
      queue.shutDown();
      await Promise.all(informers.map((i) => i.stop()));
      await Promise.all(workers);
    },
  };
}
