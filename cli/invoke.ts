// `sluice invoke`: calls a function through the activator and streams the answer to stdout.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';

export interface InvokeOptions {
  ingressUrl: string;
  domain: string;
  function: string;
  namespace: string;
  path: string;
  method?: string;
  data?: string;
  dataFile?: string;
  headers: string[];
}

/** Returns the exit code: 0 for a 2xx answer, 1 otherwise (the error JSON goes to stderr). */
export async function invoke(options: InvokeOptions): Promise<number> {
  const headers: Record<string, string> = { host: `${options.function}.${options.namespace}.${options.domain}` };
  for (const h of options.headers) {
    const colon = h.indexOf(':');
    if (colon <= 0) throw new Error(`--header "${h}" must look like "name: value"`);
    headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
  }
  let body: Readable | string | undefined;
  if (options.dataFile !== undefined) body = options.dataFile === '-' ? process.stdin : createReadStream(options.dataFile);
  else if (options.data !== undefined) body = options.data;
  const method = options.method ?? (body === undefined ? 'GET' : 'POST');
  const path = options.path.startsWith('/') ? options.path : `/${options.path}`;
  const res = await request(`${options.ingressUrl}${path}`, { method: method as 'GET', headers, body });
  if (res.statusCode >= 200 && res.statusCode < 300) {
    await pipeline(res.body, process.stdout, { end: false });
    return 0;
  }
  const text = await res.body.text();
  process.stderr.write(`HTTP ${res.statusCode}: ${text}${text.endsWith('\n') ? '' : '\n'}`);
  return 1;
}

