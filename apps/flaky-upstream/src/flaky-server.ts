/**
 * flaky-upstream: the demo and test backend (CONTRACT §6), on bare `node:http` because it is also the
 * benchmark's "direct" row: no framework, nothing logged or allocated per request beyond need.
 *
 * CONTRACT §6 endpoints:
 *   GET  /flaky-data                 one PRNG draw: < failureRate → 503; < failureRate+delayRate → 200 after
 *                                    delayMs; else 200. Body {"data":"ok","instance":ID,"seq":N}
 *   GET  /health, /ok, /users, /products   200 JSON (fixed demo data)
 *   GET  /slow?ms=N                  200 after N ms (0..120000, default 1000)
 *   GET  /fail?status=N              that status (100..599, else 400), JSON body (none for 1xx/204/304; a 1xx
 *                                    is sent alone, so the client waits for a final answer that never comes)
 *   ANY  /echo, /echo/*              200 {"method","path","query","headers","body"}; path raw (still
 *                                    percent-encoded), query an object, body a UTF-8 string (≤ 10 MiB, else 413)
 *   PUT  /__chaos                    {"failureRate","delayRate","delayMs","down"} (any subset), validated → 400
 *   GET  /__chaos                    {"settings":{…},"counts":{"/path":N,…},"total":N,"aborted":N,"instance":ID}
 *                                    (aborted: responses whose connection closed before they were complete,
 *                                    e.g. a proxy that gave up on /endless; counted paths only)
 *
 * Additions (for the gateway's e2e, fault and cache tests):
 *   POST /__chaos/reset              zero the per-path counts and aborted; answers like GET /__chaos
 *   GET  /bytes?n=N[&abortAfter=K]   N bytes with Content-Length, streamed in 65,520-byte chunks with
 *                                    backpressure; byte k of the body is "abcdefghijklmnopqrstuvwxyz"[k % 26].
 *                                    abortAfter=K: close the connection after K bytes (a crash mid-response).
 *   GET  /stream?n=N[&chunk=C][&intervalMs=M]   the same bytes, chunked (no Content-Length), C-byte chunks
 *                                    (1..65520) with M ms between chunks (0..10000)
 *   POST|PUT /upload                 consumes the body, streaming: {"bytes":N,"sha256":hex}
 *   GET  /headers?n=K&size=S         K response headers x-filler-0..K-1 of S bytes each (K·S ≤ 8 MiB)
 *   GET  /hang                       accepts and never answers
 *   GET  /endless[?intervalMs=M]     200, chunked body that never ends: 1 KiB every M ms (default 5)
 *   GET  /cache?maxAge=N&sMaxage=N&private=1&noStore=1&noCache=1&setCookie=1&vary=X
 *                                    {"counter":N,…} where N increments per call, with the Cache-Control,
 *                                    Set-Cookie and Vary headers asked for (no Cache-Control when none asked)
 *   GET  /retry-after?s=N            503 with Retry-After: N
 *
 * Every response carries X-Instance-Id. Unknown paths: 404 JSON. Known path, wrong method: 405 with Allow.
 * Counts are kept per path without query (every request, 503s of `down` included; the control endpoints
 * /__chaos* are not counted, so a test's own polling does not show up). At most 1,000 distinct paths are
 * tracked; further ones are counted under "(other)".
 * On close(), /hang and /endless responses are destroyed (they never finish); every other in-flight
 * request completes.
 */
import { createHash } from 'node:crypto';
import {
  createServer,
  validateHeaderValue,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import { type AddressInfo, type Socket } from 'node:net';
import { parse as parseQuery, type ParsedUrlQuery } from 'node:querystring';
import { applyChaosUpdate, type ChaosSettings, decideOutcome, DEFAULT_CHAOS, MAX_DELAY_MS } from './chaos.js';
import { createRandom, type Random } from './prng.js';

/** Options of {@link createFlakyServer}. */
export interface FlakyServerOptions {
  /** Value of X-Instance-Id. @default `flaky-<port>`, set once the server listens */
  instanceId?: string;
  /** Initial chaos settings, already validated (see chaos.ts). @default DEFAULT_CHAOS */
  chaos?: Partial<ChaosSettings>;
  /** `FLAKY_SEED`: fixes the /flaky-data sequence. @default unseeded (Math.random) */
  seed?: number;
  /** A random source, instead of `seed` (tests). */
  random?: Random;
}

/** A flaky-upstream server: listen with `server.listen(port, host)`, stop with `close()`. */
export interface FlakyServer {
  readonly server: Server;
  /** Current chaos settings (a copy). */
  settings(): ChaosSettings;
  /**
   * Graceful stop: stops accepting, lets in-flight requests finish (closing their keep-alive connections),
   * destroys /hang and /endless responses at once, resolves when every connection is closed. Idempotent.
   */
  close(): Promise<void>;
}

/** Keep-alive longer than the usual 60 s of proxies' pools, so a pooled socket is never closed under a request. */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

const JSON_TYPE = 'application/json; charset=utf-8';
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz';
const BYTES_CHUNK = 65_520; // a multiple of 26, so every chunk starts at 'a'
// One extra alphabet so a chunk may start at any offset k % 26 (used by /stream's odd chunk sizes).
const PATTERN = Buffer.from(ALPHABET.repeat(BYTES_CHUNK / 26 + 1), 'latin1');
const ENDLESS_CHUNK = Buffer.alloc(1024, 'x');
const MAX_BYTES = 64 * 1024 ** 3;
const MAX_ECHO_BODY = 10 * 1024 * 1024;
const MAX_CHAOS_BODY = 64 * 1024;
const MAX_HEADER_BYTES = 8 * 1024 * 1024;
const MAX_TRACKED_PATHS = 1000;
const OTHER_PATHS = '(other)';
const TOKEN_LIST = /^(\*|[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*,\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*)$/;

const USERS = [
  { id: 1, name: 'Ada Lovelace', email: 'ada@example.com' },
  { id: 2, name: 'Alan Turing', email: 'alan@example.com' },
  { id: 3, name: 'Grace Hopper', email: 'grace@example.com' },
];
const PRODUCTS = [
  { id: 1, name: 'Breakwater mug', price: 12.5 },
  { id: 2, name: 'Circuit breaker (20 A)', price: 8.9 },
  { id: 3, name: 'Rate-limit token', price: 0.01 },
];

type Handler = (req: IncomingMessage, res: ServerResponse, query: string) => void;

/**
 * Builds a flaky-upstream HTTP server (not yet listening).
 *
 * @throws TypeError when `instanceId` is not a valid header value
 * @example
 * const flaky = createFlakyServer({ seed: 42, chaos: { failureRate: 0.5 } });
 * flaky.server.listen(8001, '127.0.0.1');
 * process.on('SIGTERM', () => flaky.close().then(() => process.exit(0)));
 */
export function createFlakyServer(options: FlakyServerOptions = {}): FlakyServer {
  let settings: ChaosSettings = { ...DEFAULT_CHAOS, ...options.chaos };
  const random = options.random ?? createRandom(options.seed);
  const counts = new Map<string, number>();
  let total = 0;
  let aborted = 0;
  let seq = 0;
  let cacheCounter = 0;
  let closing = false;
  let closed: Promise<void> | undefined;
  const neverEnding = new Set<ServerResponse>();

  // Bodies that never change are serialised once per instance id.
  let instanceId = '';
  let instanceJson = '""';
  let fixed: Record<'health' | 'ok' | 'users' | 'products' | 'down' | 'failure' | 'notFound', Buffer>;
  const setInstance = (id: string): void => {
    validateHeaderValue('X-Instance-Id', id);
    instanceId = id;
    instanceJson = JSON.stringify(id);
    const json = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));
    fixed = {
      health: json({ status: 'ok', instance: id }),
      ok: json({ ok: true, instance: id }),
      users: json({ instance: id, users: USERS }),
      products: json({ instance: id, products: PRODUCTS }),
      down: json({ error: 'instance is down (chaos)', instance: id }),
      failure: json({ error: 'simulated failure', instance: id }),
      notFound: json({ error: 'not found', instance: id }),
    };
  };
  setInstance(options.instanceId ?? 'flaky');

  const headers = (contentType: string, length?: number): OutgoingHttpHeaders => {
    const h: OutgoingHttpHeaders = { 'content-type': contentType, 'x-instance-id': instanceId };
    if (length !== undefined) h['content-length'] = length;
    if (closing) h.connection = 'close';
    return h;
  };
  const sendJson = (res: ServerResponse, status: number, body: string | Buffer, extra?: OutgoingHttpHeaders): void => {
    if (res.destroyed) return;
    const length = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    res.writeHead(status, extra ? { ...headers(JSON_TYPE, length), ...extra } : headers(JSON_TYPE, length));
    res.end(body);
  };
  const sendError = (res: ServerResponse, status: number, message: string): void =>
    sendJson(res, status, `{"error":${JSON.stringify(message)},"instance":${instanceJson}}`);
  const methodNotAllowed = (res: ServerResponse, allow: string): void =>
    sendJson(res, 405, `{"error":"method not allowed","instance":${instanceJson}}`, { allow });
  /** Runs `fn` after `ms` unless the response closes first. */
  const later = (res: ServerResponse, ms: number, fn: () => void): void => {
    const timer = setTimeout(fn, ms);
    res.once('close', () => clearTimeout(timer));
  };

  const count = (path: string): void => {
    total++;
    const n = counts.get(path);
    if (n !== undefined) counts.set(path, n + 1);
    else if (counts.size < MAX_TRACKED_PATHS) counts.set(path, 1);
    else counts.set(OTHER_PATHS, (counts.get(OTHER_PATHS) ?? 0) + 1);
  };
  const chaosState = (): string =>
    JSON.stringify({ settings, counts: Object.fromEntries(counts), total, aborted, instance: instanceId });

  const flakyData: Handler = (_req, res) => {
    const outcome = decideOutcome(random(), settings);
    if (outcome === 'fail') return sendJson(res, 503, fixed.failure);
    const n = ++seq;
    if (outcome === 'ok') return sendJson(res, 200, `{"data":"ok","instance":${instanceJson},"seq":${n}}`);
    later(res, settings.delayMs, () =>
      sendJson(res, 200, `{"data":"ok","instance":${instanceJson},"seq":${n},"delayed":true}`),
    );
  };

  const slow: Handler = (_req, res, query) => {
    const ms = intParam(parseQuery(query).ms, 0, MAX_DELAY_MS, 1000);
    if (ms === undefined) return sendError(res, 400, `ms must be an integer from 0 to ${MAX_DELAY_MS}`);
    later(res, ms, () => sendJson(res, 200, `{"slow":${ms},"instance":${instanceJson}}`));
  };

  const fail: Handler = (_req, res, query) => {
    const status = intParam(parseQuery(query).status, 100, 599);
    if (status === undefined) return sendError(res, 400, 'status must be an integer from 100 to 599');
    if (status < 200 || status === 204 || status === 304) {
      res.writeHead(status, { 'x-instance-id': instanceId });
      res.end();
      return;
    }
    sendJson(res, status, `{"status":${status},"instance":${instanceJson}}`);
  };

  /** Streams bytes [0, n) of the alphabet pattern, honouring backpressure; stops short at `abortAfter`. */
  const bytes = (
    res: ServerResponse,
    n: number,
    chunked: boolean,
    chunk: number,
    intervalMs: number,
    abortAfter?: number,
  ): void => {
    res.writeHead(200, headers('application/octet-stream', chunked ? undefined : n));
    if (res.req.method === 'HEAD') return void res.end(); // Node would discard every write
    const limit = abortAfter === undefined ? n : Math.min(n, abortAfter);
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    if (intervalMs > 0) res.once('close', () => clearTimeout(timer));
    const next = (): void => {
      timer = setTimeout(pump, intervalMs);
    };
    const pump = (): void => {
      while (sent < limit && !res.destroyed) {
        const len = Math.min(chunk, limit - sent);
        const offset = sent % 26;
        sent += len;
        const more = res.write(PATTERN.subarray(offset, offset + len));
        if (intervalMs > 0 && sent < limit) {
          if (more) next();
          else res.once('drain', next);
          return;
        }
        if (!more) {
          res.once('drain', pump);
          return;
        }
      }
      if (res.destroyed) return;
      if (sent === n) res.end();
      // abortAfter: flush what was written, then FIN, as a process dying mid-response would.
      else if (res.socket) res.socket.end();
      else res.destroy();
    };
    pump();
  };

  const bytesRoute: Handler = (_req, res, query) => {
    const q = parseQuery(query);
    const n = intParam(q.n, 0, MAX_BYTES);
    if (n === undefined) return sendError(res, 400, `n must be an integer from 0 to ${MAX_BYTES}`);
    const abortAfter = q.abortAfter === undefined ? undefined : intParam(q.abortAfter, 0, MAX_BYTES);
    if (q.abortAfter !== undefined && abortAfter === undefined)
      return sendError(res, 400, 'abortAfter must be an integer ≥ 0');
    bytes(res, n, false, BYTES_CHUNK, 0, abortAfter);
  };

  const streamRoute: Handler = (_req, res, query) => {
    const q = parseQuery(query);
    const n = intParam(q.n, 0, MAX_BYTES);
    const chunk = intParam(q.chunk, 1, BYTES_CHUNK, BYTES_CHUNK);
    const intervalMs = intParam(q.intervalMs, 0, 10_000, 0);
    if (n === undefined || chunk === undefined || intervalMs === undefined) {
      return sendError(res, 400, `n must be 0..${MAX_BYTES}, chunk 1..${BYTES_CHUNK}, intervalMs 0..10000`);
    }
    bytes(res, n, true, chunk, intervalMs);
  };

  const upload: Handler = (req, res) => {
    const hash = createHash('sha256');
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => sendJson(res, 200, `{"bytes":${received},"sha256":"${hash.digest('hex')}"}`));
  };

  const headersRoute: Handler = (_req, res, query) => {
    const q = parseQuery(query);
    const n = intParam(q.n, 0, 100_000, 10);
    const size = intParam(q.size, 1, MAX_HEADER_BYTES, 100);
    if (n === undefined || size === undefined || n * size > MAX_HEADER_BYTES) {
      return sendError(res, 400, `n and size must be positive integers with n·size ≤ ${MAX_HEADER_BYTES}`);
    }
    const body = `{"headers":${n},"size":${size},"instance":${instanceJson}}`;
    const value = 'h'.repeat(size);
    const h = headers(JSON_TYPE, Buffer.byteLength(body));
    for (let i = 0; i < n; i++) h[`x-filler-${i}`] = value;
    res.writeHead(200, h);
    res.end(body);
  };

  const endless: Handler = (_req, res, query) => {
    const intervalMs = intParam(parseQuery(query).intervalMs, 1, 10_000, 5);
    if (intervalMs === undefined) return sendError(res, 400, 'intervalMs must be an integer from 1 to 10000');
    res.writeHead(200, headers('text/plain'));
    if (res.req.method === 'HEAD') return void res.end();
    neverEnding.add(res);
    // Skip ticks while the client is not reading: the server's memory stays flat.
    const timer = setInterval(() => res.writableNeedDrain || res.write(ENDLESS_CHUNK), intervalMs);
    res.once('close', () => {
      clearInterval(timer);
      neverEnding.delete(res);
    });
  };

  const hang: Handler = (_req, res) => {
    neverEnding.add(res);
    res.once('close', () => neverEnding.delete(res));
  };

  const cache: Handler = (_req, res, query) => {
    const q = parseQuery(query);
    const maxAge = q.maxAge === undefined ? undefined : intParam(q.maxAge, 0, 31_536_000);
    const sMaxage = q.sMaxage === undefined ? undefined : intParam(q.sMaxage, 0, 31_536_000);
    if ((q.maxAge !== undefined && maxAge === undefined) || (q.sMaxage !== undefined && sMaxage === undefined)) {
      return sendError(res, 400, 'maxAge and sMaxage must be integers of seconds ≥ 0');
    }
    const vary = typeof q.vary === 'string' ? q.vary : undefined;
    if (q.vary !== undefined && (vary === undefined || !TOKEN_LIST.test(vary))) {
      return sendError(res, 400, 'vary must be a comma list of header names, or *');
    }
    const directives: string[] = [];
    if (maxAge !== undefined) directives.push(`max-age=${maxAge}`);
    if (sMaxage !== undefined) directives.push(`s-maxage=${sMaxage}`);
    if (q.private === '1') directives.push('private');
    if (q.noStore === '1') directives.push('no-store');
    if (q.noCache === '1') directives.push('no-cache');
    const counter = ++cacheCounter;
    const extra: OutgoingHttpHeaders = {};
    if (directives.length > 0) extra['cache-control'] = directives.join(', ');
    if (q.setCookie === '1') extra['set-cookie'] = `session=s${counter}; Path=/; HttpOnly`;
    if (vary !== undefined) extra.vary = vary;
    sendJson(res, 200, `{"counter":${counter},"instance":${instanceJson}}`, extra);
  };

  const retryAfter: Handler = (_req, res, query) => {
    const s = intParam(parseQuery(query).s, 0, 86_400, 1);
    if (s === undefined) return sendError(res, 400, 's must be an integer from 0 to 86400');
    sendJson(res, 503, `{"error":"retry later","retryAfter":${s},"instance":${instanceJson}}`, {
      'retry-after': String(s),
    });
  };

  const echo = (req: IncomingMessage, res: ServerResponse, path: string, query: string): void => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > MAX_ECHO_BODY) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooLarge) return sendError(res, 413, `echo bodies are limited to ${MAX_ECHO_BODY} bytes`);
      const body = JSON.stringify({
        method: req.method,
        path,
        query: parseQuery(query),
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      sendJson(res, 200, body);
    });
  };

  const readJson = (req: IncomingMessage, res: ServerResponse, then: (body: unknown) => void): void => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_CHAOS_BODY) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_CHAOS_BODY) return sendError(res, 413, `body over ${MAX_CHAOS_BODY} bytes`);
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        return sendError(res, 400, `invalid JSON: ${(err as Error).message}`);
      }
      then(body);
    });
  };

  const chaosRoute = (req: IncomingMessage, res: ServerResponse, path: string): void => {
    const method = req.method;
    if (path === '/__chaos') {
      if (method === 'GET' || method === 'HEAD') return sendJson(res, 200, chaosState());
      if (method !== 'PUT') return methodNotAllowed(res, 'GET, HEAD, PUT');
      return readJson(req, res, (body) => {
        const update = applyChaosUpdate(body, settings);
        if (!update.ok) {
          return sendJson(res, 400, JSON.stringify({ error: 'invalid chaos settings', problems: update.errors }));
        }
        settings = update.settings;
        sendJson(res, 200, chaosState());
      });
    }
    if (path === '/__chaos/reset') {
      if (method !== 'POST') return methodNotAllowed(res, 'POST');
      counts.clear();
      total = 0;
      aborted = 0;
      return sendJson(res, 200, chaosState());
    }
    sendJson(res, 404, fixed.notFound);
  };

  const getRoutes = new Map<string, Handler>([
    ['/flaky-data', flakyData],
    ['/health', (_req, res) => sendJson(res, 200, fixed.health)],
    ['/ok', (_req, res) => sendJson(res, 200, fixed.ok)],
    ['/users', (_req, res) => sendJson(res, 200, fixed.users)],
    ['/products', (_req, res) => sendJson(res, 200, fixed.products)],
    ['/slow', slow],
    ['/fail', fail],
    ['/bytes', bytesRoute],
    ['/stream', streamRoute],
    ['/headers', headersRoute],
    ['/hang', hang],
    ['/endless', endless],
    ['/cache', cache],
    ['/retry-after', retryAfter],
  ]);

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? '' : url.slice(q + 1);
    if (path.startsWith('/__chaos') && (path.length === 8 || path.charCodeAt(8) === 47) /* / */) {
      return chaosRoute(req, res, path);
    }
    count(path);
    res.once('close', () => {
      if (!res.writableFinished) aborted++;
    });
    if (settings.down) return sendJson(res, 503, fixed.down);
    const method = req.method;
    const get = getRoutes.get(path);
    if (get !== undefined) {
      if (method === 'GET' || method === 'HEAD') return get(req, res, query);
      return methodNotAllowed(res, 'GET, HEAD');
    }
    if (path === '/echo' || path.startsWith('/echo/')) return echo(req, res, path, query);
    if (path === '/upload') {
      if (method === 'POST' || method === 'PUT') return upload(req, res, query);
      return methodNotAllowed(res, 'POST, PUT');
    }
    sendJson(res, 404, fixed.notFound);
  };

  const server = createServer({ headersTimeout: KEEP_ALIVE_TIMEOUT_MS + 1000, requestTimeout: 0 }, onRequest);
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  if (options.instanceId === undefined) {
    server.on('listening', () => setInstance(`flaky-${(server.address() as AddressInfo).port}`));
  }
  // Node's default answer to a malformed request carries no X-Instance-Id; this one does.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || (socket as Socket & { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    const status =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout'
          : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nX-Instance-Id: ${instanceId}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });

  const close = (): Promise<void> => {
    if (closed) return closed;
    closing = true;
    closed = new Promise<void>((resolve, reject) => {
      server.close((err?: Error & { code?: string }) =>
        err && err.code !== 'ERR_SERVER_NOT_RUNNING' ? reject(err) : resolve(),
      );
    });
    for (const res of neverEnding) res.destroy();
    server.closeIdleConnections();
    // Connections whose response had started before close() stay keep-alive: close each once idle.
    const sweep = setInterval(() => server.closeIdleConnections(), 20);
    void closed.finally(() => clearInterval(sweep)).catch(() => undefined);
    return closed;
  };

  return { server, settings: () => ({ ...settings }), close };
}

/**
 * An integer query parameter within [min, max]; `fallback` when absent; `undefined` when invalid
 * (not digits, repeated, or out of range).
 */
function intParam(value: ParsedUrlQuery[string], min: number, max: number, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) return undefined;
  const n = Number(value);
  return n >= min && n <= max ? n : undefined;
}
