// TEST INFRASTRUCTURE (virtual kubelet). Container images → local commands: there is no container runtime, so an image
// names a program of this repository, run from the repository root.
//
// An image reference is normalised first: registry host, tag and digest are dropped
// (`ghcr.io/acme/sluice/activator:0.1.0@sha256:…` → `acme/sluice/activator`, `localhost:5000/sluice/activator` →
// `sluice/activator`, `docker.io/library/node` → `node`). Then:
//
// | image                      | entrypoint (the image's ENTRYPOINT)           |
// |----------------------------|-----------------------------------------------|
// | `sluice/<component>`       | `node dist/<component>/main.js`               |
// |   (activator, autoscaler, scheduler, operator, node-agent, queue-proxy)     |
// | `sluice/example-<name>`    | `node dist/examples/<name>/main.js`           |
// | anything in config `images`| what the entry says (tests map fixtures this way) |
//
// `node` as the program means this Node.js binary (process.execPath). Kubernetes semantics apply on top:
// a container's `command` replaces the entrypoint (and drops the image's default arguments), its `args`
// replace the default arguments; both are `$(VAR)`-expanded against the container's environment.

import { expand, mappingFor } from './expansion.js';

/** What an image would run: ENTRYPOINT + CMD, and ENV. */
export interface ImageEntry {
  entrypoint: string[];
  /** The image's default arguments (Dockerfile CMD). */
  args?: string[];
  /** The image's environment (Dockerfile ENV); the container's env overrides it. */
  env?: Record<string, string>;
}

export const SLUICE_COMPONENTS = ['activator', 'autoscaler', 'scheduler', 'operator', 'node-agent', 'queue-proxy'] as const;

/** Docker's rule: the first path component is a registry host when it has a "." or ":" or is "localhost". */
function isRegistryHost(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost';
}

/** `registry:5000/sluice/activator:0.1.0@sha256:ab…` → `sluice/activator`. */
export function normalizeImage(image: string): string {
  let ref = image.trim();
  const at = ref.indexOf('@');
  if (at >= 0) ref = ref.slice(0, at);
  const parts = ref.split('/');
  if (parts.length > 1 && isRegistryHost(parts[0])) parts.shift();
  const last = parts.length - 1;
  const colon = parts[last].indexOf(':');
  if (colon >= 0) parts[last] = parts[last].slice(0, colon);
  if (parts.length > 1 && parts[0] === 'library') parts.shift();
  return parts.join('/');
}

/** The built-in mapping plus `extra` (config key `images`; exact normalised names, winning over built-ins). */
export function lookupImage(image: string, extra: Readonly<Record<string, ImageEntry>> = {}): ImageEntry | undefined {
  const name = normalizeImage(image);
  if (Object.hasOwn(extra, name)) return extra[name];
  const m = /^sluice\/(.+)$/.exec(name);
  if (!m) return undefined;
  if ((SLUICE_COMPONENTS as readonly string[]).includes(m[1])) return { entrypoint: ['node', `dist/${m[1]}/main.js`] };
  const example = /^example-([a-z0-9][a-z0-9-]*)$/.exec(m[1]);
  if (example) return { entrypoint: ['node', `dist/examples/${example[1]}/main.js`] };
  return undefined;
}

/** The message of an image with no mapping (the container waits with ErrImagePull). */
export function unknownImageMessage(image: string, extra: Readonly<Record<string, ImageEntry>> = {}): string {
  const known = [`sluice/{${SLUICE_COMPONENTS.join(',')}}`, 'sluice/example-<name>', ...Object.keys(extra)];
  return (
    `virtual kubelet (test infrastructure, no container runtime): no local command for image "${image}" ` +
    `(normalised "${normalizeImage(image)}"); known images: ${known.join(', ')}`
  );
}

/** The program and arguments to spawn, after Kubernetes' command/args rules and `$(VAR)` expansion. */
export function commandLine(
  entry: ImageEntry,
  container: { command?: string[]; args?: string[] },
  env: ReadonlyMap<string, string>,
  nodeBinary: string,
): { command: string; args: string[] } | { error: string } {
  const mapping = mappingFor(env);
  const command = container.command?.length ? container.command.map((c) => expand(c, mapping)) : entry.entrypoint;
  const args = container.args?.length
    ? container.args.map((a) => expand(a, mapping))
    : container.command?.length
      ? []
      : (entry.args ?? []);
  const argv = [...command, ...args];
  if (argv.length === 0 || argv[0] === '') return { error: 'no command specified: the image has no entrypoint and the container no command' };
  return { command: argv[0] === 'node' ? nodeBinary : argv[0], args: argv.slice(1) };
}

/** Parses config `images`: a JSON object of image → entrypoint array, or → {entrypoint, args?, env?}. */
export function parseImageMap(json: string): Record<string, ImageEntry> {
  if (json.trim() === '') return {};
  const raw: unknown = JSON.parse(json);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('must be a JSON object of image → entry');
  const out: Record<string, ImageEntry> = {};
  const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
  for (const [image, value] of Object.entries(raw as Record<string, unknown>)) {
    const name = normalizeImage(image);
    if (isStrings(value)) {
      out[name] = { entrypoint: value };
      continue;
    }
    const v = value as Partial<ImageEntry> | null;
    if (typeof v !== 'object' || v === null || !isStrings(v.entrypoint) || (v.args !== undefined && !isStrings(v.args))) {
      throw new Error(`image ${image}: must be an array of strings or {"entrypoint": [...], "args"?: [...], "env"?: {...}}`);
    }
    const env = v.env ?? {};
    if (typeof env !== 'object' || Object.values(env).some((s) => typeof s !== 'string')) throw new Error(`image ${image}: env must map names to strings`);
    out[name] = { entrypoint: v.entrypoint, ...(v.args ? { args: v.args } : {}), ...(v.env ? { env } : {}) };
  }
  return out;
}
