// One listening port that speaks HTTP/1.1 and h2c (prior knowledge), told apart by the HTTP/2 connection preface.
import net from 'node:net';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2, { type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';

export interface DualServerHandlers {
  http1(req: IncomingMessage, res: ServerResponse): void;
  http2(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void;
}

export interface DualServerOptions {
  /** Idle keep-alive timeout for HTTP/1.1 connections. */
  keepAliveTimeoutMs?: number;
  /** Largest request header block; beyond it Node answers 431. */
  maxHeaderSize?: number;
  /** How long a new connection may stay silent before its first byte. */
  firstByteTimeoutMs?: number;
}

/** "PRI" starts the HTTP/2 preface; no HTTP/1.1 method starts that way. */
function isHttp2Preface(chunk: Buffer): boolean {
  return chunk.length >= 3 && chunk[0] === 0x50 && chunk[1] === 0x52 && chunk[2] === 0x49;
}

export class DualServer {
  readonly http1: http.Server;
  readonly http2: http2.Http2Server;
  private readonly listener: net.Server;
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly sockets = new Set<net.Socket>();
  private draining = false;
  private readonly firstByteTimeoutMs: number;

  constructor(handlers: DualServerHandlers, options: DualServerOptions = {}) {
    this.firstByteTimeoutMs = options.firstByteTimeoutMs ?? 60_000;
    this.http1 = http.createServer(
      {
        keepAlive: true,
        keepAliveTimeout: options.keepAliveTimeoutMs ?? 65_000,
        // Sluice enforces function timeouts itself; Node's own limits would cut long streams.
        requestTimeout: 0,
        headersTimeout: 60_000,
        maxHeaderSize: options.maxHeaderSize,
      },
      handlers.http1,
    );
    this.http2 = http2.createServer({ maxSessionMemory: 64 });
    this.http2.on('stream', handlers.http2);
    this.http2.on('session', (session: ServerHttp2Session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      if (this.draining) session.close();
    });
    this.listener = net.createServer({ noDelay: true }, (socket) => this.route(socket));
  }

  private route(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.once('error', () => socket.destroy());
    // A client that connects and never sends a byte must not hold a socket forever.
    socket.setTimeout(this.firstByteTimeoutMs, () => socket.destroy());
    const onReadable = (): void => {
      const chunk = socket.read() as Buffer | null;
      if (chunk === null) {
        socket.once('readable', onReadable);
        return;
      }
      socket.setTimeout(0);
      socket.unshift(chunk);
      if (isHttp2Preface(chunk)) this.http2.emit('connection', socket);
      else this.http1.emit('connection', socket);
    };
    socket.once('readable', onReadable);
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.listener.once('error', reject);
      this.listener.listen({ port, host, backlog: 1024 }, () => {
        this.listener.off('error', reject);
        // The HTTP/1.1 server never listens itself (it is fed sockets), so Node would not start its
        // connection tracking: without it headersTimeout and close(Idle|All)Connections do nothing.
        this.http1.emit('listening');
        resolve(this.listener.address() as AddressInfo);
      });
    });
  }

  address(): AddressInfo {
    return this.listener.address() as AddressInfo;
  }

  /**
   * Stops accepting connections and asks clients to go away: idle HTTP/1.1
   * connections close, busy ones close after their response, HTTP/2 sessions get GOAWAY.
   */
  drain(): void {
    this.draining = true;
    this.listener.close();
    this.http1.closeIdleConnections();
    for (const session of this.sessions) session.close();
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Drains, then destroys whatever is still open. */
  async close(): Promise<void> {
    this.drain();
    this.http1.closeAllConnections();
    for (const session of this.sessions) session.destroy();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => {
      if (!this.listener.listening) resolve();
      else this.listener.close(() => resolve());
    });
  }
}
