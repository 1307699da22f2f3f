// Maps a request (Host / :authority and path) to the function it is for; pure, no I/O.

export interface Route {
  namespace: string;
  name: string;
  /** Path (with query) to request from the instance. */
  path: string;
}

export const DEFAULT_NAMESPACE = 'default';
const PATH_PREFIX = '/fn/';
const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** "Hello.Default.sluice.local:8080" → "hello.default.sluice.local"; "[::1]:80" → "[::1]". */
function hostWithoutPort(host: string): string {
  const lower = host.toLowerCase();
  if (lower.startsWith('[')) {
    const end = lower.indexOf(']');
    return end === -1 ? lower : lower.slice(0, end + 1);
  }
  const colon = lower.indexOf(':');
  const bare = colon === -1 ? lower : lower.slice(0, colon);
  // A fully qualified name may end with a dot.
  return bare.endsWith('.') ? bare.slice(0, -1) : bare;
}

/** `/fn/<ns>/<fn>/rest?query` → route with path `/rest?query`; `/fn/<ns>/<fn>` → `/`. */
function routeByPath(path: string): Route | null {
  if (!path.startsWith(PATH_PREFIX)) return null;
  const nsEnd = path.indexOf('/', PATH_PREFIX.length);
  if (nsEnd === -1) return null;
  const namespace = path.slice(PATH_PREFIX.length, nsEnd);
  let nameEnd = nsEnd + 1;
  while (nameEnd < path.length && path[nameEnd] !== '/' && path[nameEnd] !== '?') nameEnd++;
  const name = path.slice(nsEnd + 1, nameEnd);
  if (!DNS_LABEL.test(namespace) || !DNS_LABEL.test(name)) return null;
  const rest = path.slice(nameEnd);
  return { namespace, name, path: rest === '' ? '/' : rest.startsWith('?') ? `/${rest}` : rest };
}

/** `<fn>.<ns>.<domain>` only. */
function routeByDomainHost(host: string, domain: string, path: string): Route | null | undefined {
  const suffix = `.${domain}`;
  if (!host.endsWith(suffix)) return undefined;
  const labels = host.slice(0, -suffix.length).split('.');
  if (labels.length !== 2 || !DNS_LABEL.test(labels[0]) || !DNS_LABEL.test(labels[1])) return null;
  return { namespace: labels[1], name: labels[0], path };
}

/** `<fn>` (namespace default) or `<fn>.<ns>`. */
function routeByShortHost(host: string, path: string): Route | null {
  const dot = host.indexOf('.');
  if (dot === -1) return DNS_LABEL.test(host) ? { namespace: DEFAULT_NAMESPACE, name: host, path } : null;
  const name = host.slice(0, dot);
  const namespace = host.slice(dot + 1);
  return DNS_LABEL.test(name) && DNS_LABEL.test(namespace) ? { namespace, name, path } : null;
}

/**
 * Routes in this order:
 * | host / path                         | function                 | upstream path |
 * |-------------------------------------|--------------------------|---------------|
 * | host `<fn>.<ns>.<domain>`           | ns/fn                    | unchanged     |
 * | path `/fn/<ns>/<fn>[/rest][?query]` | ns/fn                    | `/rest?query` |
 * | host `<fn>.<ns>` or `<fn>`          | ns/fn (ns = default)     | unchanged     |
 * A host under the domain that is not `<fn>.<ns>` is unroutable (null) rather than tried as a path.
 */
export function routeRequest(host: string | undefined, path: string, domain: string): Route | null {
  const bareHost = host === undefined ? '' : hostWithoutPort(host);
  if (bareHost !== '') {
    const byDomain = routeByDomainHost(bareHost, domain, path);
    if (byDomain !== undefined) return byDomain;
  }
  const byPath = routeByPath(path);
  if (byPath) return byPath;
  return bareHost === '' ? null : routeByShortHost(bareHost, path);
}

/** Names what was asked, for FUNCTION_NOT_FOUND messages about unroutable requests. */
export function describeUnroutable(host: string | undefined, path: string, domain: string): string {
  return (
    `no function for host "${host ?? ''}" and path "${path}": ` +
    `use host <function>.<namespace>.${domain} or path /fn/<namespace>/<function>/...`
  );
}
