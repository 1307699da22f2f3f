// The Function CRD, derived from the one Function schema (lib/function-spec.ts) so `kubectl apply` and local YAML accept the same objects.
import { FUNCTION_DEFAULTS, FUNCTION_SCHEMA, KIND } from '../lib/function-spec.js';
import { GROUP, PLURAL, VERSION } from '../lib/kubernetes/function-resource.js';

type Schema = Record<string, unknown>;

/** Defaults the API server fills in (by path below spec), so `kubectl get -o yaml` shows what runs. */
const SPEC_DEFAULTS: Record<string, unknown> = {
  'container.port': FUNCTION_DEFAULTS.port,
  containerConcurrency: FUNCTION_DEFAULTS.containerConcurrency,
  timeoutSeconds: FUNCTION_DEFAULTS.timeoutSeconds,
};

/** Checks the JSON schema cannot express, as CEL rules with field-level messages (the same checks as semanticProblems()). */
const SPEC_RULES: Record<string, Array<{ rule: string; message: string; fieldPath?: string }>> = {
  container: [{ rule: 'has(self.image) || has(self.command)', message: 'needs an image (Kubernetes) or a command (local platform)' }],
  'container.resources': [
    { rule: '!has(self.cpu) || isQuantity(self.cpu)', message: 'is not a CPU quantity (e.g. "250m", "1")', fieldPath: '.cpu' },
    { rule: '!has(self.memory) || isQuantity(self.memory)', message: 'is not a memory quantity (e.g. "128Mi")', fieldPath: '.memory' },
  ],
  scaling: [
    {
      rule: '!has(self.minScale) || !has(self.maxScale) || self.maxScale == 0 || self.minScale <= self.maxScale',
      message: 'minScale must not exceed maxScale',
      fieldPath: '.minScale',
    },
    {
      rule: '!has(self.initialScale) || !has(self.maxScale) || self.maxScale == 0 || self.initialScale <= self.maxScale',
      message: 'initialScale must not exceed maxScale',
      fieldPath: '.initialScale',
    },
    durationRule('stableWindow', '6s', '1h'),
    durationRule('scaleToZeroGracePeriod', '0s', '1h'),
    durationRule('scaleDownDelay', '0s', '1h'),
  ],
};

function durationRule(field: string, min: string, max: string): { rule: string; message: string; fieldPath: string } {
  return {
    rule: `!has(self.${field}) || (duration(self.${field}) >= duration('${min}') && duration(self.${field}) <= duration('${max}'))`,
    message: `must be a duration in [${min}; ${max}]`,
    fieldPath: `.${field}`,
  };
}

/** CEL cost estimates need bounded strings; no legitimate value comes near this. */
const MAX_STRING = 256;

/** JSON schema (draft-07 as ajv reads it) → structural OpenAPI v3 as apiextensions.k8s.io/v1 wants it. */
function toStructural(schema: Schema, path: string): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties') {
      const props: Schema = {};
      for (const [name, sub] of Object.entries(value as Record<string, Schema>)) {
        props[name] = toStructural(sub, path === '' ? name : `${path}.${name}`);
      }
      out.properties = props;
    } else if (key === 'items') {
      out.items = toStructural(value as Schema, `${path}[]`);
    } else if (key === 'additionalProperties') {
      // Structural schemas forbid additionalProperties beside properties; unknown fields are refused by
      // field validation (kubectl's default --validate=strict) instead.
      if (typeof value === 'object') out.additionalProperties = toStructural(value as Schema, `${path}{}`);
    } else if (key === 'exclusiveMinimum') {
      // Draft-07's numeric form → OpenAPI 3.0's boolean form.
      out.minimum = value;
      out.exclusiveMinimum = true;
    } else {
      out[key] = value;
    }
  }
  if (out.type === 'string' && out.maxLength === undefined && out.enum === undefined) out.maxLength = MAX_STRING;
  if (path in SPEC_DEFAULTS) out.default = SPEC_DEFAULTS[path];
  if (path in SPEC_RULES) out['x-kubernetes-validations'] = SPEC_RULES[path];
  return out;
}

const CONDITION_SCHEMA: Schema = {
  type: 'object',
  required: ['type', 'status'],
  properties: {
    type: { type: 'string' },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    reason: { type: 'string' },
    message: { type: 'string' },
    lastTransitionTime: { type: 'string', format: 'date-time' },
    observedGeneration: { type: 'integer', format: 'int64' },
  },
};

const STATUS_SCHEMA: Schema = {
  type: 'object',
  properties: {
    observedGeneration: { type: 'integer', format: 'int64' },
    url: { type: 'string' },
    replicas: { type: 'integer' },
    readyReplicas: { type: 'integer' },
    conditions: {
      type: 'array',
      items: CONDITION_SCHEMA,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    },
  },
};

export function functionCrd(): Schema {
  const spec = toStructural(FUNCTION_SCHEMA.properties.spec as unknown as Schema, '');
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${PLURAL}.${GROUP}`, labels: { 'app.kubernetes.io/part-of': 'sluice' } },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { plural: PLURAL, singular: 'function', kind: KIND, listKind: `${KIND}List`, shortNames: ['fn'], categories: ['sluice'] },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
            { name: 'URL', type: 'string', jsonPath: '.status.url' },
            { name: 'Replicas', type: 'integer', jsonPath: '.status.replicas' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
            { name: 'Reason', type: 'string', priority: 1, jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'A Sluice function: a container served through the activator, scaled by the autoscaler.',
              required: ['spec'],
              properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, spec, status: STATUS_SCHEMA },
            },
          },
        },
      ],
    },
  };
}
