// Kubernetes Events (core/v1) about an object, as `kubectl describe` shows them.
import type { CoreV1Api, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../logger.js';
import { apiErrorMessage } from './client.js';

export interface EventRecorder {
  /** Fire-and-forget: an event that cannot be written is logged, never fails the caller. */
  record(object: KubernetesObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export function eventRecorder(core: CoreV1Api, component: string, logger: Logger): EventRecorder {
  const instance = `${component}-${process.pid}`;
  return {
    record(object, type, reason, message) {
      const namespace = object.metadata?.namespace ?? 'default';
      const now = new Date();
      void core
        .createNamespacedEvent({
          namespace,
          body: {
            metadata: { generateName: `${object.metadata?.name ?? 'object'}.`, namespace },
            involvedObject: {
              apiVersion: object.apiVersion ?? 'v1',
              kind: object.kind ?? 'Pod',
              name: object.metadata?.name,
              namespace,
              uid: object.metadata?.uid,
              resourceVersion: object.metadata?.resourceVersion,
            },
            type,
            reason,
            message: message.slice(0, 1024),
            source: { component },
            reportingComponent: component,
            reportingInstance: instance,
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
          },
        })
        .catch((err: unknown) => logger.warn({ reason, err: apiErrorMessage(err) }, 'cannot record event'));
    },
  };
}
