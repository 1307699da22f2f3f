// The Platform interface on Kubernetes: Functions from the Function CRD, ready instances from EndpointSlices, scale through the Deployment scale subresource.
import {
  AppsV1Api,
  DiscoveryV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1EndpointSlice,
} from '@kubernetes/client-node';
import type { Logger } from '../../logger.js';
import { apiErrorMessage } from '../../kubernetes/client.js';
import {
  childName,
  FUNCTION_LABEL,
  functionInformer,
  MANAGED_BY_LABEL,
  OPERATOR_NAME,
  recordFromResource,
  type FunctionResource,
} from '../../kubernetes/function-resource.js';
import { Informer } from '../../kubernetes/informer.js';
import type { FunctionEndpoints, FunctionEvent, FunctionRecord, Platform, Unsubscribe } from '../types.js';
import { readyEndpoints } from './endpoints.js';

function sliceKey(slice: V1EndpointSlice): string | undefined {
  const fn = slice.metadata?.labels?.[FUNCTION_LABEL];
  return fn === undefined ? undefined : `${slice.metadata!.namespace}/${fn}`;
}

export class KubernetesPlatform implements Platform {
  private readonly apps: AppsV1Api;
  private readonly discovery: DiscoveryV1Api;
  private readonly informers: Array<Informer<FunctionResource> | Informer<V1EndpointSlice>> = [];

  constructor(private readonly kubeConfig: KubeConfig, private readonly logger: Logger) {
    this.apps = kubeConfig.makeApiClient(AppsV1Api);
    this.discovery = kubeConfig.makeApiClient(DiscoveryV1Api);
  }

  watchFunctions(onEvent: (event: FunctionEvent) => void): Unsubscribe {
    // What the platform last reported valid, so an object turning invalid reads as deleted.
    const known = new Map<string, FunctionRecord>();
    const report = (resource: FunctionResource, deleted: boolean): void => {
      const k = `${resource.metadata?.namespace}/${resource.metadata?.name}`;
      const before = known.get(k);
      const conversion = deleted ? undefined : recordFromResource(resource);
      if (conversion && !conversion.ok) this.logger.warn({ function: k, err: conversion.message }, 'ignoring invalid Function');
      if (conversion?.ok) {
        known.set(k, conversion.record);
        onEvent({ type: before ? 'modified' : 'added', fn: conversion.record });
      } else if (before) {
        known.delete(k);
        onEvent({ type: 'deleted', fn: before });
      }
    };
    const informer = functionInformer(this.kubeConfig, this.logger, {
      onAdd: (r) => report(r, false),
      onUpdate: (r) => report(r, false),
      onDelete: (r) => report(r, true),
    }).start();
    this.informers.push(informer);
    return () => void informer.stop();
  }

  watchEndpoints(onUpdate: (update: FunctionEndpoints) => void): Unsubscribe {
    const selector = `${MANAGED_BY_LABEL}=${OPERATOR_NAME}`;
    let informer: Informer<V1EndpointSlice> | undefined = undefined;
    const publish = (slice: V1EndpointSlice): void => {
      const k = sliceKey(slice);
      if (k === undefined || informer === undefined) return;
      const [namespace, fn] = k.split('/');
      const slices = informer.list(namespace).filter((s) => s.metadata?.labels?.[FUNCTION_LABEL] === fn);
      onUpdate({ namespace, function: fn, ready: readyEndpoints(slices), deleted: slices.length === 0 });
    };
    informer = new Informer<V1EndpointSlice>({
      kubeConfig: this.kubeConfig,
      path: '/apis/discovery.k8s.io/v1/endpointslices',
      list: () => this.discovery.listEndpointSliceForAllNamespaces({ labelSelector: selector }),
      labelSelector: selector,
      onAdd: publish,
      onUpdate: publish,
      onDelete: publish,
      logger: this.logger,
      what: 'endpointslices',
    }).start();
    this.informers.push(informer);
    const own = informer;
    return () => void own.stop();
  }

  async setScale(namespace: string, name: string, desiredScale: number): Promise<void> {
    try {
      await this.apps.patchNamespacedDeploymentScale(
        { name: childName(name), namespace, body: { spec: { replicas: desiredScale } }, fieldManager: 'sluice-autoscaler' },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (err) {
      throw new Error(`cannot scale ${namespace}/${name} to ${desiredScale}: ${apiErrorMessage(err)}`);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.informers.splice(0).map((i) => i.stop()));
  }
}
