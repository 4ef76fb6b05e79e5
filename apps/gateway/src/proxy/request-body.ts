import { type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { GatewayError } from '../common/gateway-error.js';

/** Bodies up to this size are kept in memory so that a retry can send them again. */
export const REPLAY_LIMIT_BYTES = 1024 * 1024;

/**
 * The request body as the forwarder sees it: nothing, a buffer that can be replayed, or a
 * one-shot stream (large or non-idempotent bodies stream straight through, never buffered).
 */
export type RequestBody =
  | { readonly kind: 'none' }
  | { readonly kind: 'buffer'; readonly data: Buffer }
  | { readonly kind: 'stream'; readonly stream: Readable; readonly length: number | null; consumed: boolean };

/** Whether the request carries a body (a Content-Length above 0, or chunked). */
export function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  if (len !== undefined) return len !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

/** The body of a request that has none (shared: it holds no state). */
export const NO_BODY: RequestBody = Object.freeze({ kind: 'none' });

function declaredLength(req: IncomingMessage): number | null {
  const len = req.headers['content-length'];
  return len === undefined ? null : Number(len);
}

/** Counts bytes through and fails with 413 past the limit (chunked bodies have no length to check). */
function limited(source: Readable, limit: number, prefix: readonly Buffer[]): Readable {
  let seen = 0;
  for (const b of prefix) seen += b.length;
  async function* gen(): AsyncGenerator<Buffer> {
    for (const b of prefix) yield b;
    for await (const chunk of source) {
      seen += (chunk as Buffer).length;
      if (seen > limit) throw new GatewayError('PAYLOAD_TOO_LARGE', `request body exceeds ${limit} bytes`);
      yield chunk as Buffer;
    }
  }
  return Readable.from(gen(), { objectMode: false });
}

/**
 * Prepares the body of `req`. Replayable when the method may be retried and the whole body
 * fits in {@link REPLAY_LIMIT_BYTES}; otherwise a stream that is consumed by the first try.
 * @throws {GatewayError} PAYLOAD_TOO_LARGE when the declared or received size exceeds `limit`.
 */
export async function prepareBody(req: IncomingMessage, limit: number, replayable: boolean): Promise<RequestBody> {
  if (!hasBody(req)) return NO_BODY;
  const length = declaredLength(req);
  if (length !== null && length > limit) {
    throw new GatewayError('PAYLOAD_TOO_LARGE', `request body of ${length} bytes exceeds ${limit} bytes`);
  }
  if (!replayable || (length !== null && length > REPLAY_LIMIT_BYTES)) {
    return { kind: 'stream', stream: length !== null ? req : limited(req, limit, []), length, consumed: false };
  }
  // Read up to the replay limit; past it, fall back to streaming what is left.
  // (Event-based: leaving a for-await loop early would destroy the request stream.)
  return new Promise<RequestBody>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > limit) {
        cleanup();
        reject(new GatewayError('PAYLOAD_TOO_LARGE', `request body exceeds ${limit} bytes`));
      } else if (size > REPLAY_LIMIT_BYTES) {
        cleanup();
        req.pause();
        resolve({ kind: 'stream', stream: limited(req, limit, chunks), length, consumed: false });
      }
    };
    const onEnd = (): void => {
      cleanup();
      resolve({ kind: 'buffer', data: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
