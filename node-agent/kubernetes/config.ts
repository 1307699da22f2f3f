// Node agent settings when it runs as a DaemonSet on Kubernetes (platform=kubernetes): the kubelet runs the instances, the agent watches its node.
import { ConfigError, ConfigReader, type RawConfig } from '../../lib/config.js';

export interface DaemonConfig {
  platform: 'kubernetes';
  /** The node this pod runs on (downward API spec.nodeName). */
  name: string;
  /** Address the metrics server binds (the pod IP). */
  host: string;
  /** 0 = any free port. */
  metricsPort: number;
}

export function loadDaemonConfig(raw: RawConfig): DaemonConfig {
  const r = new ConfigReader(raw, 'node-agent');
  const config: DaemonConfig = {
    platform: r.string('platform', 'kubernetes', ['kubernetes']) as 'kubernetes',
    name: r.string('name', ''),
    host: r.string('host', '0.0.0.0'),
    metricsPort: r.int('metrics-port', 9090, 0, 65_535),
  };
  r.rejectUnknown();
  if (config.name === '') throw new ConfigError('node-agent: name is required on Kubernetes (set it from spec.nodeName)');
  return config;
}
