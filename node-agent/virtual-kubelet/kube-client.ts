// TEST INFRASTRUCTURE (virtual kubelet). A small JSON client for the Kubernetes API: plain requests, any patch type, watches.
//
// @kubernetes/client-node is used for what it does well, loading a kubeconfig and its credentials. Requests go
// through this client instead, so objects stay the API server's JSON (client-node's models turn timestamps into
// Date objects, serialise metav1.MicroTime with three fractional digits, which the API server rejects for
// Lease.renewTime, and drop fields they do not know).
import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';

export class KubeApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 404;
}

export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 409;
}

export function isGone(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 410;
}

export const PATCH = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
} as const;

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export type WatchEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'; object: Record<string, unknown> };

const USER_AGENT = 'sluice-virtual-kubelet/0.1.0 (test infrastructure)';

export class KubeClient {
  readonly server: URL;
  private readonly transport: typeof http | typeof https;
  private agent!: http.Agent;
  private headers: Record<string, string> = {};

  private constructor(private readonly kc: KubeConfig) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = new URL(cluster.server);
    this.transport = this.server.protocol === 'http:' ? http : https;
  }

  /** Loads `kubeconfigPath`, or KUBECONFIG / ~/.kube/config / in-cluster when it is "". */
  static async load(kubeconfigPath: string): Promise<KubeClient> {
    const kc = new KubeConfig();
    if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
    else kc.loadFromDefault();
    const client = new KubeClient(kc);
    await client.refreshCredentials();
    return client;
  }

  /** The cluster CA of the kubeconfig, base64 PEM ("" when it has none). */
  caData(): string {
    const cluster = this.kc.getCurrentCluster();
    if (cluster?.caData) return cluster.caData;
    if (cluster?.caFile) return readFileSync(cluster.caFile).toString('base64');
    return '';
  }

  private async refreshCredentials(): Promise<void> {
    const opts: https.RequestOptions = {};
    await this.kc.applyToHTTPSOptions(opts);
    const { ca, cert, key, rejectUnauthorized, servername } = opts as https.RequestOptions & { servername?: string };
    this.agent?.destroy();
    this.agent =
      this.transport === https
        ? new https.Agent({ keepAlive: true, ca, cert, key, servername, ...(rejectUnauthorized !== undefined ? { rejectUnauthorized } : {}) })
        : new http.Agent({ keepAlive: true });
    this.headers = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (typeof v === 'string') this.headers[k] = v;
  }

  close(): void {
    this.agent.destroy();
  }

  private url(path: string, query: RequestOptions['query'] = {}): URL {
    const url = new URL(path, this.server);
    // A server URL with a path prefix (e.g. behind a proxy) keeps it.
    if (this.server.pathname !== '/' && !path.startsWith(this.server.pathname)) url.pathname = this.server.pathname.replace(/\/$/, '') + path;
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  private send(method: string, url: URL, options: RequestOptions, signal?: AbortSignal): Promise<http.IncomingMessage> {
    const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    return new Promise((resolve, reject) => {
      const req = this.transport.request(
        url,
        {
          method,
          agent: this.agent,
          signal,
          headers: {
            ...this.headers,
            accept: 'application/json',
            'user-agent': USER_AGENT,
            ...(body ? { 'content-type': options.contentType ?? 'application/json', 'content-length': body.length } : {}),
          },
        },
        resolve,
      );
      if (options.timeoutMs) req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`${method} ${url.pathname}: timed out after ${options.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  private static async readJson(res: http.IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if (text === '') return undefined;
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }

  private static apiError(method: string, path: string, status: number, body: unknown): KubeApiError {
    const s = (typeof body === 'object' && body !== null ? body : {}) as { message?: string; reason?: string };
    return new KubeApiError(`${method} ${path}: ${status} ${s.message ?? String(body ?? '')}`.trim(), status, s.reason ?? '');
  }

  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = this.url(path, options.query);
    const opts = { timeoutMs: 30_000, ...options };
    let res = await this.send(method, url, opts, options.signal);
    if (res.statusCode === 401) {
      // Credentials may have rotated (exec plugins, token files): reload once.
      res.resume();
      await this.refreshCredentials();
      res = await this.send(method, url, opts, options.signal);
    }
    const body = await KubeClient.readJson(res);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw KubeClient.apiError(method, path, status, body);
    return body as T;
  }

  get<T>(path: string, query?: RequestOptions['query'], signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, { query, signal });
  }

  create<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, { body });
  }

  replace<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, { body });
  }

  patch<T>(path: string, body: unknown, contentType: string = PATCH.strategic): Promise<T> {
    return this.request<T>('PATCH', path, { body, contentType });
  }

  delete<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('DELETE', path, { body });
  }

  /**
   * Streams a watch: `onEvent` for each event until the server ends it (resolves) or it fails (rejects
   * with KubeApiError for an HTTP error, e.g. 410 Gone when resourceVersion is too old). An ERROR event's
   * object is a Status; the caller decides what it means.
   */
  async watch(path: string, query: RequestOptions['query'], onEvent: (event: WatchEvent) => void, signal: AbortSignal): Promise<void> {
    const url = this.url(path, { ...query, watch: 1 });
    const res = await this.send('GET', url, {}, signal);
    if (res.statusCode !== 200) {
      throw KubeClient.apiError('WATCH', path, res.statusCode ?? 0, await KubeClient.readJson(res));
    }
    const lines = createInterface({ input: res, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (line.trim() === '') continue;
        onEvent(JSON.parse(line) as WatchEvent);
      }
    } finally {
      lines.close();
      res.destroy();
    }
  }
}
