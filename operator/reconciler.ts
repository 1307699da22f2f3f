// One reconcile of one Function: apply its Service and Deployment (and the XDT key copy), then write its status when it changed.
import {
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Api,
  type V1Deployment,
  type V1Secret,
} from '@kubernetes/client-node';
import type { Logger } from '../lib/logger.js';
import { apiErrorMessage, serverSideApply } from '../lib/kubernetes/client.js';
import { GROUP, MANAGED_BY_LABEL, OPERATOR_NAME, PLURAL, VERSION, recordFromResource, type FunctionResource } from '../lib/kubernetes/function-resource.js';
import { desiredDeployment, desiredService, functionUrl, XDT_KEY_SECRET } from './desired.js';
import type { OperatorConfig } from './config.js';
import { functionStatus, statusEqual, type Observation } from './status.js';

export interface ReconcilerDeps {
  objects: KubernetesObjectApi;
  custom: CustomObjectsApi;
  core: CoreV1Api;
  logger: Logger;
  now?: () => Date;
}

export type ReconcileResult = 'applied' | 'invalid';

export class FunctionReconciler {
  private readonly now: () => Date;

  constructor(private readonly config: OperatorConfig, private readonly deps: ReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** Throws when the API refused something, so the work queue retries with backoff; the status says why first. */
  async reconcile(fn: FunctionResource): Promise<ReconcileResult> {
    const namespace = fn.metadata!.namespace!;
    const name = fn.metadata!.name!;
    const generation = fn.metadata?.generation ?? 1;
    const conversion = recordFromResource(fn);
    let observation: Observation;
    let failure: unknown;
    let url = '';
    if (!conversion.ok) {
      // Not retried: only a new spec (a new event) can fix it.
      observation = { kind: 'invalid', message: conversion.message };
    } else {
      const identity = { uid: fn.metadata!.uid!, definition: conversion.record.definition };
      url = functionUrl(identity.definition, this.config.domain);
      try {
        if (this.config.xdtSecret !== '') await this.copyXdtKey(fn);
        await serverSideApply(this.deps.objects, desiredService(identity), OPERATOR_NAME);
        const deployment = await serverSideApply<V1Deployment>(this.deps.objects, desiredDeployment(identity, this.config), OPERATOR_NAME);
        observation = { kind: 'applied', deployment };
      } catch (err) {
        failure = err;
        observation = { kind: 'failed', message: apiErrorMessage(err) };
      }
    }
    const status = functionStatus(fn.status, observation, generation, url, this.now());
    if (!statusEqual(fn.status, status)) {
      await this.deps.custom.patchNamespacedCustomObjectStatus(
        { group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body: { status } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      const ready = status.conditions![0];
      this.deps.logger.info({ namespace, function: name, ready: ready.status, reason: ready.reason, message: ready.message }, 'function status');
    }
    if (failure !== undefined) throw failure;
    return observation.kind === 'invalid' ? 'invalid' : 'applied';
  }

  /**
   * Pods can only read Secrets of their own namespace, so each function namespace gets a copy of the
   * cluster key. Every Function there owns the copy (an owner reference each, applied under a field
   * manager of its own so the references add up): the garbage collector removes it with the last one.
   */
  private async copyXdtKey(fn: FunctionResource): Promise<void> {
    const namespace = fn.metadata!.namespace!;
    if (namespace === this.config.xdtSecretNamespace && this.config.xdtSecret === XDT_KEY_SECRET) return;
    const source = await this.deps.core.readNamespacedSecret({ name: this.config.xdtSecret, namespace: this.config.xdtSecretNamespace });
    const copy: V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: XDT_KEY_SECRET,
        namespace,
        labels: { [MANAGED_BY_LABEL]: OPERATOR_NAME },
        ownerReferences: [{ apiVersion: `${GROUP}/${VERSION}`, kind: 'Function', name: fn.metadata!.name!, uid: fn.metadata!.uid! }],
      },
      type: 'Opaque',
      data: { key: source.data?.key ?? '' },
    };
    await serverSideApply(this.deps.objects, copy, `${OPERATOR_NAME}/${fn.metadata!.name}`);
  }
}
