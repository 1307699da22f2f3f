// Picks the Platform a component runs on: the local platform's gRPC server, or the Kubernetes API.
import type { Logger } from '../logger.js';
import { loadKubeConfig } from '../kubernetes/client.js';
import { KubernetesPlatform } from './kubernetes/platform.js';
import { LocalPlatformClient } from './local-client.js';
import type { Platform } from './types.js';

export const PLATFORM_KINDS = ['local', 'kubernetes'] as const;
export type PlatformKind = (typeof PLATFORM_KINDS)[number];

export function createPlatform(kind: PlatformKind, options: { component: string; platformAddress: string; logger: Logger }): Platform {
  if (kind === 'kubernetes') return new KubernetesPlatform(loadKubeConfig(options.component), options.logger);
  return new LocalPlatformClient(options.platformAddress, options.logger);
}
