import { type ServerResponse } from 'node:http';
import { clientResponseHeaders } from './header-rules.js';
import { type UpstreamResponse } from './proxy-result.js';

/**
 * Commits a final answer to the client: status and headers as the upstream sent them
 * (hop-by-hop removed), body streamed. If the body fails mid-way the client connection is
 * destroyed, so a truncated body never looks complete.
 */
export function writeUpstreamResponse(res: ServerResponse, upstream: UpstreamResponse): void {
  if (res.headersSent || res.destroyed) {
    upstream.body.destroy();
    return;
  }
  const headers = clientResponseHeaders(upstream.headers);
  if (upstream.extraHeaders) Object.assign(headers, upstream.extraHeaders);
  res.writeHead(upstream.status, headers);
  // pipe() rather than stream.pipeline(): pipeline makes an AbortController (and a DOMException)
  // per response. The two failure paths are handled by hand: a body that fails cuts the client
  // connection; a client that leaves stops the body.
  const body = upstream.body;
  body.once('error', (err) => {
    if (!res.destroyed) res.destroy(err);
  });
  res.once('close', () => {
    if (!body.destroyed) body.destroy();
  });
  body.pipe(res);
}
