// A request body wrapper that counts bytes against the body limit and reads its source only when the upstream does.
import { Readable } from 'node:stream';
import { SluiceError } from '../lib/errors.js';

/**
 * Streams `source` (the client's request) with backpressure, failing with BODY_TOO_LARGE past `limitBytes`.
 * Nothing is read from `source` until the consumer reads, and destroying the wrapper leaves
 * `source` intact and paused — so when a forward fails before the upstream read anything
 * (connection refused), a fresh wrapper can send the same body to another instance.
 */
export class MeteredBody extends Readable {
  bytes = 0;
  /** True once any byte was taken from the source: the body can no longer be replayed. */
  pulled = false;
  tooLarge = false;
  private attached = false;

  constructor(
    private readonly source: Readable,
    private readonly limitBytes: number,
    private readonly functionName: string,
  ) {
    super();
  }

  override _read(): void {
    if (!this.attached) {
      this.attached = true;
      this.source.on('data', this.onData);
      this.source.once('end', this.onEnd);
      this.source.once('error', this.onSourceError);
      this.source.once('close', this.onSourceClose);
    }
    this.source.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.detach();
    callback(err);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.pulled = true;
    this.bytes += chunk.length;
    if (this.bytes > this.limitBytes) {
      this.tooLarge = true;
      this.destroy(
        new SluiceError('BODY_TOO_LARGE', `request body for function ${this.functionName} exceeds the limit of ${this.limitBytes} bytes`),
      );
      return;
    }
    if (!this.push(chunk)) this.source.pause();
  };

  private readonly onEnd = (): void => {
    this.push(null);
  };

  private readonly onSourceError = (err: Error): void => {
    this.destroy(err);
  };

  private readonly onSourceClose = (): void => {
    if (!this.source.readableEnded) this.destroy(new Error('client closed the request before its body ended'));
  };

  private detach(): void {
    if (!this.attached) return;
    this.attached = false;
    this.source.off('data', this.onData);
    this.source.off('end', this.onEnd);
    this.source.off('error', this.onSourceError);
    this.source.off('close', this.onSourceClose);
    if (!this.source.readableEnded) this.source.pause();
  }
}
