import { pipeline, type Readable, Transform } from 'node:stream';

/**
 * Passes `source` through chunk by chunk (backpressure kept, nothing held back from the client)
 * while keeping a copy for the cache, up to `limit` bytes. `done` is called exactly once: with
 * the whole body when the source ended within the limit, or with null as soon as the limit is
 * passed, the source fails, or the consumer goes away. Destroying the returned stream destroys
 * the source (a client that hangs up aborts the upstream request).
 */
export function teeBody(source: Readable, limit: number, done: (body: Buffer | null) => void): Readable {
  let chunks: Buffer[] | null = limit >= 0 ? [] : null;
  let size = 0;
  let settled = false;
  const settle = (body: Buffer | null): void => {
    if (settled) return;
    settled = true;
    chunks = null;
    done(body);
  };
  if (chunks === null) settle(null);
  const tee = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (chunks !== null) {
        size += chunk.length;
        if (size > limit) settle(null);
        else chunks.push(chunk);
      }
      callback(null, chunk);
    },
    flush(callback) {
      if (chunks !== null) settle(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      callback();
    },
  });
  pipeline(source, tee, (err) => {
    if (err) settle(null);
  });
  return tee;
}
