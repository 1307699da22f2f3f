// Errors that cross a component boundary: a stable code, an HTTP status and a human message.
import type { ServerResponse } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';

/** Every code a Sluice component may return to a client. Documented in README.md (a test checks). */
export const ERROR_CODES = {
  FUNCTION_NOT_FOUND: 404,
  BAD_REQUEST: 400,
  BODY_TOO_LARGE: 413,
  QUEUE_FULL: 503,
  NO_CAPACITY: 503,
  SHUTTING_DOWN: 503,
  REQUEST_TIMEOUT: 504,
  UPSTREAM_FAILED: 502,
  UPSTREAM_TIMEOUT: 504,
  INTERNAL: 500,
  XDT_REF_INVALID: 400,
  XDT_REF_FORBIDDEN: 403,
  XDT_REF_EXPIRED: 410,
  XDT_OBJECT_GONE: 410,
  XDT_OBJECT_TOO_LARGE: 413,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Seconds a client should wait before retrying (sent as Retry-After), when relevant. */
  readonly retryAfterSeconds?: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SluiceError';
    this.code = code;
    this.status = ERROR_CODES[code];
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isSluiceError(err: unknown): err is SluiceError {
  return err instanceof SluiceError;
}

function errorHeaders(err: SluiceError, body: string): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'x-sluice-error': err.code,
  };
  if (err.retryAfterSeconds !== undefined) headers['retry-after'] = String(err.retryAfterSeconds);
  return headers;
}

/** Writes `{code, message}` as JSON on an HTTP/1.1 or HTTP/2-compat response, if headers are not sent yet. */
export function sendError(res: ServerResponse, err: SluiceError): void {
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  const body = JSON.stringify(err);
  res.writeHead(err.status, errorHeaders(err, body));
  res.end(body);
}

/** Same as sendError for a raw HTTP/2 stream. */
export function sendErrorH2(stream: ServerHttp2Stream, err: SluiceError): void {
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) {
    stream.close(2 /* INTERNAL_ERROR */);
    return;
  }
  const body = JSON.stringify(err);
  stream.respond({ ':status': err.status, ...errorHeaders(err, body) });
  stream.end(body);
}
