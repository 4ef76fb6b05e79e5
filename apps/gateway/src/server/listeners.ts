import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { randomUUID } from 'node:crypto';
import { type Socket } from 'node:net';
import { type GatewayEnv } from '@app/config';
import { ERROR_CODES, type ErrorCode } from '../common/gateway-error.js';
import { type GatewayRequest } from '../common/request-context.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface Listeners {
  /** Proxied traffic (and, without MANAGEMENT_PORT, everything). */
  readonly proxy: Server;
  /** The management listener when MANAGEMENT_PORT is set. */
  readonly management: Server | null;
}

function tagged(handler: Handler, listener: 'proxy' | 'management'): Handler {
  return (req, res) => {
    (req as GatewayRequest).bwListener = listener;
    handler(req, res);
  };
}

/**
 * Creates the listeners around the app's request handler: HTTPS when TLS material is given,
 * plus a plain-HTTP management listener when MANAGEMENT_PORT is set. Node's server limits
 * are set on purpose: slow clients (slowloris) and oversized headers are cut.
 */
export function createListeners(
  env: GatewayEnv,
  handler: Handler,
  tls: { key: Buffer; cert: Buffer } | null,
): Listeners {
  const options = {
    maxHeaderSize: env.server.maxHeaderBytes,
    requestTimeout: env.server.requestTimeoutMs,
    headersTimeout: env.server.headersTimeoutMs,
    keepAliveTimeout: env.server.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, Math.floor(env.server.headersTimeoutMs / 2)),
    // Ambiguous framing is refused outright (request smuggling).
    insecureHTTPParser: false,
    requireHostHeader: true,
  };
  const proxy = tls
    ? (createHttpsServer({ ...options, ...tls }, tagged(handler, 'proxy')) as unknown as Server)
    : createHttpServer(options, tagged(handler, 'proxy'));
  const management = env.managementPort !== null ? createHttpServer(options, tagged(handler, 'management')) : null;
  proxy.on('clientError', onClientError);
  management?.on('clientError', onClientError);
  return { proxy, management };
}

/** Node's parser and timeout errors, answered with the contract's problem+json instead of a bare status line. */
const CLIENT_ERRORS: Record<string, ErrorCode> = {
  HPE_HEADER_OVERFLOW: 'HEADERS_TOO_LARGE',
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
};

function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  // As Node's own handler: answer only while nothing of a response has been sent on this socket.
  if (!socket.writable || (socket as Socket & { _httpMessage?: { _headerSent?: boolean } })._httpMessage?._headerSent) {
    socket.destroy();
    return;
  }
  const code: ErrorCode = CLIENT_ERRORS[err.code ?? ''] ?? 'BAD_REQUEST';
  const { status, title } = ERROR_CODES[code];
  const requestId = randomUUID();
  const body = JSON.stringify({
    type: `https://breakwater.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`,
    title,
    status,
    detail: code === 'BAD_REQUEST' ? 'malformed HTTP request' : title.toLowerCase(),
    code,
    requestId,
  });
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
