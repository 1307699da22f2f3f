// Scheduler configuration: defaults, parsing from kebab-case keys (env SLUICE_SCHEDULER_*) and validation.
import { ConfigError, ConfigReader } from '../lib/config.js';
import type { RawConfig } from '../lib/config.js';
import { PLATFORM_KINDS, type PlatformKind } from '../lib/platform/create.js';
import { MAX_SCORE_WEIGHT, type PluginArgs } from './framework.js';
import { defaultRegistry, profileFromWeights } from './default-registry.js';

export interface SchedulerConfig {
  /** host:port of the gRPC Scheduler service. */
  grpcAddress: string;
  /** Port of the /metrics HTTP server on the gRPC host; 0 = no metrics server. */
  metricsPort: number;
  /** Score plugin name → weight. */
  scoreWeights: Record<string, number>;
  /** Plugin name → its arguments (as Kubernetes' pluginConfig); plugins not named take their defaults. */
  pluginArgs: Record<string, PluginArgs>;
  /** local: answers the local platform's Schedule calls; kubernetes: also binds pending pods with schedulerName. */
  platform: PlatformKind;
  /** The pods' spec.schedulerName this scheduler places on Kubernetes. */
  schedulerName: string;
}

const COMPONENT = 'scheduler';
// pm-writer-spread gives every node the same score for a pod that is not a predicted PM writer, so
// it changes nothing for other functions; for writers it weighs as much as spread.
// cost-model gives every node the same score for a function without XDT flows; for one with flows it
// outweighs spread (3 > 2), so a consumer goes to its producers' node even when that node already runs
// more of its instances; spread and least-allocated together (2 + 1) can at most tie it.
const DEFAULT_SCORE_WEIGHTS = 'least-allocated=1,spread=2,pm-writer-spread=2,data-affinity=2,cost-model=3';

/** "least-allocated=1,spread=2" → { "least-allocated": 1, spread: 2 }, checked against the registered score plugins. */
export function parseScoreWeights(text: string, key = 'score-weights'): Record<string, number> {
  const known = defaultRegistry().names('score');
  const out: Record<string, number> = {};
  for (const item of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const eq = item.indexOf('=');
    const name = (eq < 0 ? item : item.slice(0, eq)).trim();
    const weightText = eq < 0 ? '' : item.slice(eq + 1).trim();
    if (!known.includes(name)) {
      throw new ConfigError(`${COMPONENT}: ${key} = ${text}, unknown score plugin "${name}", must be one of ${known.join(', ')}`);
    }
    const weight = Number(weightText);
    if (weightText === '' || !Number.isInteger(weight) || weight < 1 || weight > MAX_SCORE_WEIGHT) {
      throw new ConfigError(
        `${COMPONENT}: ${key} = ${text}, weight of ${name} must be an integer in [1; ${MAX_SCORE_WEIGHT}] (as name=weight)`,
      );
    }
    if (Object.hasOwn(out, name)) throw new ConfigError(`${COMPONENT}: ${key} = ${text}, ${name} is listed twice`);
    out[name] = weight;
  }
  return out;
}

function validateHostPort(key: string, value: string): string {
  const m = /^(.+):(\d+)$/.exec(value);
  if (!m || Number(m[2]) > 65535) throw new ConfigError(`${COMPONENT}: ${key} = ${value}, must be host:port with port in [0; 65535]`);
  return value;
}

export function loadConfig(raw: RawConfig): SchedulerConfig {
  const r = new ConfigReader(raw, COMPONENT);
  const config: SchedulerConfig = {
    grpcAddress: validateHostPort('grpc-address', r.string('grpc-address', '127.0.0.1:8091')),
    metricsPort: r.int('metrics-port', 0, 0, 65535),
    scoreWeights: parseScoreWeights(r.string('score-weights', DEFAULT_SCORE_WEIGHTS)),
    pluginArgs: parsePluginArgs(r.string('plugin-args', '')),
    platform: r.string('platform', 'local', PLATFORM_KINDS) as PlatformKind,
    schedulerName: r.string('scheduler-name', 'sluice-scheduler'),
  };
  r.rejectUnknown();
  // Bad arguments (unknown keys, wrong types) fail at start, naming the plugin, not at the first placement.
  try {
    profileFromWeights(defaultRegistry(), config.scoreWeights, config.pluginArgs);
  } catch (err) {
    throw new ConfigError(`${COMPONENT}: plugin-args: ${(err as Error).message}`);
  }
  return config;
}

/** '{"cost-model": {"fullScaleSecondsPerSecond": 0.2}}' → args by plugin name; "" = none. */
export function parsePluginArgs(text: string): Record<string, PluginArgs> {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${COMPONENT}: plugin-args is not JSON: ${(err as Error).message}`);
  }
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(value)) throw new ConfigError(`${COMPONENT}: plugin-args must be a JSON object of plugin name → arguments object`);
  const known = defaultRegistry().names();
  for (const [name, args] of Object.entries(value)) {
    if (!known.includes(name)) throw new ConfigError(`${COMPONENT}: plugin-args: unknown plugin "${name}", must be one of ${known.join(', ')}`);
    if (!isObject(args)) throw new ConfigError(`${COMPONENT}: plugin-args: the arguments of ${name} must be a JSON object`);
  }
  return value as Record<string, PluginArgs>;
}

export function defaultConfig(): SchedulerConfig {
  return loadConfig({});
}
