// The Function definition: one JSON schema shared by local YAML files and the Kubernetes CRD, plus semantic checks.
import { Ajv, type ErrorObject } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { readFileSync } from 'node:fs';
import { parseDurationMs } from './config.js';
import { parseBytes, parseMilliCpu } from './quantity.js';

export const API_VERSION = 'sluice.dev/v1alpha1';
export const KIND = 'Function';

export interface EnvVar {
  name: string;
  value: string;
}

export interface ContainerSpec {
  /** Container image, used on Kubernetes. */
  image?: string;
  /** Command to run; required on the local platform (overrides the image entrypoint on Kubernetes). */
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  /** Port the function server listens on (the platform passes it as PORT). */
  port?: number;
  /** HTTP path the queue-proxy probes for readiness; absent means a TCP connect probe. */
  readinessPath?: string;
  resources?: { cpu?: string; memory?: string };
}

/** Per-function autoscaling overrides. Absent fields take the autoscaler's configured defaults. */
export interface ScalingSpec {
  minScale?: number;
  /** 0 = unlimited. */
  maxScale?: number;
  initialScale?: number;
  /** Target concurrency per instance (containerConcurrency when that is set and target is not). */
  target?: number;
  targetUtilizationPercentage?: number;
  stableWindow?: string;
  panicWindowPercentage?: number;
  panicThresholdPercentage?: number;
  maxScaleUpRate?: number;
  maxScaleDownRate?: number;
  scaleToZeroGracePeriod?: string;
  scaleDownDelay?: string;
  /** -1 = the activator always stays in the path. */
  targetBurstCapacity?: number;
}

/** Placement hints for the scheduler. */
export interface PlacementSpec {
  /** Required: only nodes with every one of these labels. */
  nodeSelector?: Record<string, string>;
  /**
   * Preferred: where the function's data lives, as node labels (e.g. `{ "sluice.dev/dataset": "logs" }`).
   * Nodes with more of these labels score higher (the data-affinity plugin); others still qualify.
   */
  dataAffinity?: Record<string, string>;
}

export interface FunctionSpec {
  container: ContainerSpec;
  /** Maximum in-flight requests per instance; 0 = unlimited. */
  containerConcurrency?: number;
  timeoutSeconds?: number;
  scaling?: ScalingSpec;
  placement?: PlacementSpec;
}

export interface FunctionDefinition {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: FunctionSpec;
}

/** Defaults applied to every Function (scaling defaults live in the autoscaler config). */
export const FUNCTION_DEFAULTS = {
  namespace: 'default',
  port: 8080,
  containerConcurrency: 0,
  timeoutSeconds: 300,
  cpu: '100m',
  memory: '128Mi',
} as const;

const DNS_LABEL = '^[a-z]([-a-z0-9]*[a-z0-9])?$';
const DURATION = '^(\\d+(\\.\\d+)?(ms|s|m|h))+$';
const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const;

/** OpenAPI v3 compatible JSON schema of the whole object; the CRD embeds `properties.spec`. */
export const FUNCTION_SCHEMA = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { type: 'string', enum: [API_VERSION] },
    kind: { type: 'string', enum: [KIND] },
    metadata: {
      type: 'object',
      required: ['name'],
      properties: {
        name: { type: 'string', pattern: DNS_LABEL, maxLength: 63 },
        namespace: { type: 'string', pattern: DNS_LABEL, maxLength: 63 },
        labels: stringMap,
        annotations: stringMap,
      },
    },
    spec: {
      type: 'object',
      required: ['container'],
      additionalProperties: false,
      properties: {
        container: {
          type: 'object',
          additionalProperties: false,
          properties: {
            image: { type: 'string', minLength: 1 },
            command: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
            args: { type: 'array', items: { type: 'string' } },
            env: {
              type: 'array',
              items: {
                type: 'object',
                required: ['name', 'value'],
                additionalProperties: false,
                properties: { name: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }, value: { type: 'string' } },
              },
            },
            port: { type: 'integer', minimum: 1, maximum: 65535 },
            readinessPath: { type: 'string', pattern: '^/' },
            resources: {
              type: 'object',
              additionalProperties: false,
              properties: { cpu: { type: 'string' }, memory: { type: 'string' } },
            },
          },
        },
        containerConcurrency: { type: 'integer', minimum: 0, maximum: 1000 },
        timeoutSeconds: { type: 'integer', minimum: 1, maximum: 3600 },
        scaling: {
          type: 'object',
          additionalProperties: false,
          properties: {
            minScale: { type: 'integer', minimum: 0 },
            maxScale: { type: 'integer', minimum: 0 },
            initialScale: { type: 'integer', minimum: 0 },
            target: { type: 'number', exclusiveMinimum: 0 },
            targetUtilizationPercentage: { type: 'number', minimum: 1, maximum: 100 },
            stableWindow: { type: 'string', pattern: DURATION },
            panicWindowPercentage: { type: 'number', minimum: 1, maximum: 100 },
            panicThresholdPercentage: { type: 'number', minimum: 110, maximum: 1000 },
            maxScaleUpRate: { type: 'number', exclusiveMinimum: 1 },
            maxScaleDownRate: { type: 'number', exclusiveMinimum: 1 },
            scaleToZeroGracePeriod: { type: 'string', pattern: DURATION },
            scaleDownDelay: { type: 'string', pattern: DURATION },
            targetBurstCapacity: { type: 'number', minimum: -1 },
          },
        },
        placement: {
          type: 'object',
          additionalProperties: false,
          properties: { nodeSelector: stringMap, dataAffinity: stringMap },
        },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: false });
const validateSchema = ajv.compile(FUNCTION_SCHEMA);

export class FunctionSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FunctionSpecError';
  }
}

/** "/spec/scaling/minScale" → "spec.scaling.minScale". */
function fieldPath(err: ErrorObject): string {
  const base = err.instancePath.replace(/^\//, '').replaceAll('/', '.');
  if (err.keyword === 'required') return [base, (err.params as { missingProperty: string }).missingProperty].filter(Boolean).join('.');
  if (err.keyword === 'additionalProperties') {
    return [base, (err.params as { additionalProperty: string }).additionalProperty].filter(Boolean).join('.');
  }
  return base || '(root)';
}

function describe(err: ErrorObject): string {
  switch (err.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not a known field';
    case 'enum':
      return `must be one of ${(err.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
    case 'pattern':
      return err.instancePath.endsWith('name') || err.instancePath.endsWith('namespace')
        ? 'must be a DNS label (lowercase letters, digits and "-", starting with a letter)'
        : `must match ${(err.params as { pattern: string }).pattern}`;
    default:
      return err.message ?? 'is invalid';
  }
}

/** Semantic checks the schema cannot express. Returns messages "field: problem". */
function semanticProblems(def: FunctionDefinition): string[] {
  const problems: string[] = [];
  const { spec } = def;
  const s = spec.scaling ?? {};
  const durations: Array<[string, string | undefined, number, number]> = [
    ['stableWindow', s.stableWindow, 6_000, 3_600_000],
    ['scaleToZeroGracePeriod', s.scaleToZeroGracePeriod, 0, 3_600_000],
    ['scaleDownDelay', s.scaleDownDelay, 0, 3_600_000],
  ];
  for (const [key, value, min, max] of durations) {
    if (value === undefined) continue;
    const ms = parseDurationMs(value);
    if (ms === undefined || ms < min || ms > max) {
      problems.push(`spec.scaling.${key}: ${value} must be a duration in [${min / 1000}s; ${max / 1000}s]`);
    }
  }
  if (s.minScale !== undefined && s.maxScale !== undefined && s.maxScale > 0 && s.minScale > s.maxScale) {
    problems.push(`spec.scaling.minScale: ${s.minScale} must not exceed spec.scaling.maxScale (${s.maxScale})`);
  }
  if (s.initialScale !== undefined && s.maxScale !== undefined && s.maxScale > 0 && s.initialScale > s.maxScale) {
    problems.push(`spec.scaling.initialScale: ${s.initialScale} must not exceed spec.scaling.maxScale (${s.maxScale})`);
  }
  const res = spec.container.resources ?? {};
  if (res.cpu !== undefined && parseMilliCpu(res.cpu) === undefined) {
    problems.push(`spec.container.resources.cpu: "${res.cpu}" is not a CPU quantity (e.g. "250m", "1")`);
  }
  if (res.memory !== undefined && parseBytes(res.memory) === undefined) {
    problems.push(`spec.container.resources.memory: "${res.memory}" is not a memory quantity (e.g. "128Mi")`);
  }
  if (!spec.container.image && !spec.container.command) {
    problems.push('spec.container: needs an image (Kubernetes) or a command (local platform)');
  }
  return problems;
}

/**
 * Validates one parsed object as a Function and applies defaults.
 * Throws FunctionSpecError whose message names the source and every bad field.
 */
export function parseFunctionDefinition(value: unknown, source: string): FunctionDefinition {
  if (!validateSchema(value)) {
    const lines = (validateSchema.errors ?? []).map((e) => `  ${fieldPath(e)}: ${describe(e)}`);
    throw new FunctionSpecError(`${source}: invalid Function\n${[...new Set(lines)].join('\n')}`);
  }
  const def = structuredClone(value) as unknown as FunctionDefinition;
  const problems = semanticProblems(def);
  if (problems.length > 0) {
    throw new FunctionSpecError(`${source}: invalid Function\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
  def.metadata.namespace ??= FUNCTION_DEFAULTS.namespace;
  def.spec.container.port ??= FUNCTION_DEFAULTS.port;
  def.spec.container.resources = {
    cpu: def.spec.container.resources?.cpu ?? FUNCTION_DEFAULTS.cpu,
    memory: def.spec.container.resources?.memory ?? FUNCTION_DEFAULTS.memory,
  };
  def.spec.containerConcurrency ??= FUNCTION_DEFAULTS.containerConcurrency;
  def.spec.timeoutSeconds ??= FUNCTION_DEFAULTS.timeoutSeconds;
  return def;
}

/** Parses a (multi-document) YAML text of Functions. `file` names the source in errors. */
export function parseFunctionsYaml(text: string, file: string): FunctionDefinition[] {
  const docs = parseAllDocuments(text);
  const out: FunctionDefinition[] = [];
  const seen = new Set<string>();
  docs.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      throw new FunctionSpecError(`${file}: YAML error in document ${index + 1}: ${doc.errors[0].message}`);
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    const name = (value as { metadata?: { name?: unknown } }).metadata?.name;
    const where = `${file} (document ${index + 1}${typeof name === 'string' ? `, Function "${name}"` : ''})`;
    const def = parseFunctionDefinition(value, where);
    const key = functionKey(def);
    if (seen.has(key)) throw new FunctionSpecError(`${where}: duplicate Function ${key}`);
    seen.add(key);
    out.push(def);
  });
  if (out.length === 0) throw new FunctionSpecError(`${file}: no Function definitions found`);
  return out;
}

export function loadFunctionsFile(file: string): FunctionDefinition[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new FunctionSpecError(`${file}: cannot read: ${(err as Error).message}`);
  }
  return parseFunctionsYaml(text, file);
}

/** "namespace/name", the key used everywhere a function is identified. */
export function functionKey(def: FunctionDefinition | { namespace: string; name: string }): string {
  if ('metadata' in def) return `${def.metadata.namespace ?? FUNCTION_DEFAULTS.namespace}/${def.metadata.name}`;
  return `${def.namespace}/${def.name}`;
}

/** Resource requests of one instance in milli-CPU and bytes (the queue-proxy's share included by the platform). */
export function instanceRequests(def: FunctionDefinition): { milliCpu: number; memoryBytes: number } {
  const r = def.spec.container.resources ?? {};
  return {
    milliCpu: parseMilliCpu(r.cpu ?? FUNCTION_DEFAULTS.cpu) ?? 100,
    memoryBytes: parseBytes(r.memory ?? FUNCTION_DEFAULTS.memory) ?? 128 * 2 ** 20,
  };
}
