import { type IncomingMessage } from 'node:http';
import { GatewayError } from '../common/gateway-error.js';

/**
 * Reads a small request body (the gateway parses no bodies globally: proxied ones stream).
 * @throws {GatewayError} PAYLOAD_TOO_LARGE past `limit` bytes
 */
export async function readSmallBody(req: IncomingMessage, limit = 8192): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new GatewayError('PAYLOAD_TOO_LARGE', `this endpoint takes at most ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
