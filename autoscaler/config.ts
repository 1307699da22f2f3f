// Autoscaler configuration: Knative's KPA defaults and key names, plus process addresses; from env SLUICE_AUTOSCALER_<KEY>.
import { ConfigError, ConfigReader, type RawConfig } from '../lib/config.js';
import { PLATFORM_KINDS, type PlatformKind } from '../lib/platform/create.js';

export interface AutoscalerConfig {
  /** Averaging window of the stable mode. */
  stableWindowMs: number;
  /** Panic window as a percentage of the stable window. */
  panicWindowPercentage: number;
  /** Panic when the panic-window demand reaches this percentage of the ready capacity. */
  panicThresholdPercentage: number;
  /** Target concurrency per instance when the function sets neither target nor containerConcurrency. */
  containerConcurrencyTargetDefault: number;
  /** Share of the target the autoscaler aims for, leaving headroom for bursts. */
  containerConcurrencyTargetPercentage: number;
  maxScaleUpRate: number;
  maxScaleDownRate: number;
  scaleToZeroGracePeriodMs: number;
  scaleDownDelayMs: number;
  /** Spare concurrency the activator keeps absorbing; 0 = never in the path when instances exist, -1 = always. */
  targetBurstCapacity: number;
  initialScale: number;
  allowZeroInitialScale: boolean;
  minScale: number;
  /** 0 = unlimited. */
  maxScale: number;
  enableScaleToZero: boolean;
  tickIntervalMs: number;
  grpcAddress: string;
  /** local: the local platform's gRPC server at platformAddress; kubernetes: the API server (KUBECONFIG or in-cluster). */
  platform: PlatformKind;
  platformAddress: string;
  metricsPort: number;
  metricsHost: string;
}

const HOUR_MS = 3_600_000;
const LARGE = 1_000_000_000;

export function defaultConfig(): AutoscalerConfig {
  return {
    stableWindowMs: 60_000,
    panicWindowPercentage: 10,
    panicThresholdPercentage: 200,
    containerConcurrencyTargetDefault: 100,
    containerConcurrencyTargetPercentage: 70,
    maxScaleUpRate: 1000,
    maxScaleDownRate: 2,
    scaleToZeroGracePeriodMs: 30_000,
    scaleDownDelayMs: 0,
    targetBurstCapacity: 211,
    initialScale: 1,
    allowZeroInitialScale: true,
    minScale: 0,
    maxScale: 0,
    enableScaleToZero: true,
    tickIntervalMs: 2_000,
    grpcAddress: '127.0.0.1:8090',
    platform: 'local',
    platformAddress: '127.0.0.1:8092',
    metricsPort: 9092,
    metricsHost: '127.0.0.1',
  };
}

const COMPONENT = 'autoscaler';

/** Knative requires the rates to be strictly greater than 1 (a rate of 1 could never change the scale). */
function rateAbove1(reader: ConfigReader, key: string, fallback: number): number {
  const value = reader.number(key, fallback, 1, LARGE);
  if (value <= 1) throw new ConfigError(`${COMPONENT}: ${key} = ${value}, must be a number in (1; ${LARGE}]`);
  return value;
}

export function loadConfig(raw: RawConfig): AutoscalerConfig {
  const d = defaultConfig();
  const r = new ConfigReader(raw, COMPONENT);
  const config: AutoscalerConfig = {
    stableWindowMs: r.durationMs('stable-window', d.stableWindowMs, 6_000, HOUR_MS),
    panicWindowPercentage: r.number('panic-window-percentage', d.panicWindowPercentage, 1, 100),
    panicThresholdPercentage: r.number('panic-threshold-percentage', d.panicThresholdPercentage, 110, 1000),
    containerConcurrencyTargetDefault: r.number('container-concurrency-target-default', d.containerConcurrencyTargetDefault, 0.01, LARGE),
    containerConcurrencyTargetPercentage: r.number(
      'container-concurrency-target-percentage',
      d.containerConcurrencyTargetPercentage,
      1,
      100,
    ),
    maxScaleUpRate: rateAbove1(r, 'max-scale-up-rate', d.maxScaleUpRate),
    maxScaleDownRate: rateAbove1(r, 'max-scale-down-rate', d.maxScaleDownRate),
    // Function specs may set 0 (see lib/function-spec.ts), so the global default accepts it too.
    scaleToZeroGracePeriodMs: r.durationMs('scale-to-zero-grace-period', d.scaleToZeroGracePeriodMs, 0, HOUR_MS),
    scaleDownDelayMs: r.durationMs('scale-down-delay', d.scaleDownDelayMs, 0, HOUR_MS),
    targetBurstCapacity: r.number('target-burst-capacity', d.targetBurstCapacity, -1, LARGE),
    initialScale: r.int('initial-scale', d.initialScale, 0, 1_000_000),
    allowZeroInitialScale: r.boolean('allow-zero-initial-scale', d.allowZeroInitialScale),
    minScale: r.int('min-scale', d.minScale, 0, 1_000_000),
    maxScale: r.int('max-scale', d.maxScale, 0, 1_000_000),
    enableScaleToZero: r.boolean('enable-scale-to-zero', d.enableScaleToZero),
    tickIntervalMs: r.durationMs('tick-interval', d.tickIntervalMs, 100, 60_000),
    grpcAddress: r.string('grpc-address', d.grpcAddress),
    platform: r.string('platform', d.platform, PLATFORM_KINDS) as PlatformKind,
    platformAddress: r.string('platform-address', d.platformAddress),
    metricsPort: r.int('metrics-port', d.metricsPort, 0, 65_535),
    metricsHost: r.string('metrics-host', d.metricsHost),
  };
  r.rejectUnknown();
  if (config.targetBurstCapacity < 0 && config.targetBurstCapacity !== -1) {
    throw new ConfigError(`${COMPONENT}: target-burst-capacity = ${config.targetBurstCapacity}, must be -1 or a number >= 0`);
  }
  if (config.initialScale === 0 && !config.allowZeroInitialScale) {
    throw new ConfigError(`${COMPONENT}: initial-scale = 0, needs allow-zero-initial-scale = true`);
  }
  if (config.maxScale > 0 && config.minScale > config.maxScale) {
    throw new ConfigError(`${COMPONENT}: min-scale = ${config.minScale}, must not exceed max-scale (${config.maxScale})`);
  }
  return config;
}
