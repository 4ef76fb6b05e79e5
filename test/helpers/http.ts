import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { Agent, type Dispatcher, request as undiciRequest } from 'undici';
import { onCleanup } from './processes.js';

/** A fully read HTTP response. */
export interface HttpResponse {
  status: number;
  /** Lower-case names; repeated headers (set-cookie) as arrays. */
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** `JSON.parse(text)`. @throws with the text when it is not JSON */
  json<T = any>(): T; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Options of {@link request}. */
export interface RequestOptions {
  /** @default 'GET' */
  method?: Dispatcher.HttpMethod;
  headers?: Record<string, string | string[]>;
  /** A string, a Buffer or any async iterable of chunks (a streamed upload). An object is sent as JSON. */
  body?: string | Buffer | Uint8Array | AsyncIterable<Uint8Array> | Record<string, unknown>;
  /** Deadline of the whole exchange, body included (then it rejects with a TimeoutError). @default 10000 */
  timeoutMs?: number;
  /** @default a keep-alive agent shared by this test file, closed after it */
  dispatcher?: Dispatcher;
  signal?: AbortSignal;
}

let agent: Agent | undefined;

/** The keep-alive agent {@link request} uses by default; closed automatically after the test file. */
export function testAgent(): Agent {
  if (!agent) {
    const created = new Agent({ keepAliveTimeout: 2000, keepAliveMaxTimeout: 2000, connections: 256 });
    agent = created;
    onCleanup(async () => {
      agent = undefined;
      await created.destroy();
    });
  }
  return agent;
}

/**
 * An HTTP request with undici, reading the whole body. Never throws for an HTTP status; throws on network
 * errors (refused, reset, timeout).
 *
 * @example
 * const res = await request(`${flaky.url}/__chaos`, { method: 'PUT', body: { down: true } });
 * expect(res.status).toBe(200);
 */
export async function request(url: string, options: RequestOptions = {}): Promise<HttpResponse> {
  const timeout = options.timeoutMs ?? 10_000;
  let body = options.body;
  const headers: Record<string, string | string[]> = { ...options.headers };
  if (body !== undefined && isPlainObject(body)) {
    body = JSON.stringify(body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
      headers['content-type'] = 'application/json';
  }
  const res = await undiciRequest(url, {
    method: options.method ?? 'GET',
    headers,
    body:
      typeof body === 'object' && Symbol.asyncIterator in body ? Readable.from(body) : (body as string | Uint8Array),
    // undici's own timers tick coarsely (~1 s); an AbortSignal keeps ms-scale deadlines exact.
    headersTimeout: timeout + 1000,
    bodyTimeout: timeout + 1000,
    dispatcher: options.dispatcher ?? testAgent(),
    signal: options.signal
      ? AbortSignal.any([options.signal, AbortSignal.timeout(timeout)])
      : AbortSignal.timeout(timeout),
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    text,
    json<T>(): T {
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new Error(`response ${res.statusCode} is not JSON: ${text.slice(0, 500)}`);
      }
    },
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Options of {@link rawRequest}. */
export interface RawRequestOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** Give up waiting for the server to close after this long and return what arrived. @default 2000 */
  timeoutMs?: number;
  /** Half-close (FIN) after writing, as `printf … | nc -q` would. @default false */
  end?: boolean;
}

/**
 * Writes `raw` bytes on a fresh TCP connection and returns everything the server sent (latin1, byte for byte),
 * once the server closes the connection or `timeoutMs` has passed (a keep-alive server does not close: keep
 * the timeout short, or send `Connection: close`). For bytes no client library would send: smuggling, bad
 * framing, hostile headers.
 *
 * @example
 * const text = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n');
 * expect(text).toMatch(/^HTTP\/1\.1 400/);
 */
export async function rawRequest(port: number, raw: string | Buffer, options: RawRequestOptions = {}): Promise<string> {
  const conn = await openRaw(port, options.host);
  await conn.write(raw);
  if (options.end) conn.socket.end();
  await Promise.race([conn.closed, new Promise((r) => setTimeout(r, options.timeoutMs ?? 2000))]);
  conn.destroy();
  return conn.text();
}

/** A raw TCP connection for byte-by-byte tests (slowloris, pipelining). See {@link openRaw}. */
export interface RawConnection {
  readonly socket: Socket;
  /** Writes and resolves when the bytes are handed to the kernel (rejects if the socket is gone). */
  write(data: string | Buffer): Promise<void>;
  /** Everything received so far (latin1). */
  text(): string;
  /** Resolves with the text received so far once it matches `pattern`. @throws after `timeoutMs` or on close */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves when the connection is closed (by either side), with whether the server closed it. */
  readonly closed: Promise<{ byServer: boolean }>;
  destroy(): void;
}

/**
 * Opens a raw TCP connection to 127.0.0.1:port (or `host`). Destroyed automatically after the test file.
 *
 * @example
 * const conn = await openRaw(gw.port);
 * for (const ch of 'GET / HTTP/1.1\r\n') { await conn.write(ch); await sleep(50); }
 * expect((await conn.closed).byServer).toBe(true);
 */
export function openRaw(port: number, host = '127.0.0.1'): Promise<RawConnection> {
  return new Promise((resolveOpen, reject) => {
    const socket = connect({ port, host });
    const chunks: Buffer[] = [];
    const listeners = new Set<() => void>();
    let destroyedByUs = false;
    const closed = new Promise<{ byServer: boolean }>((r) =>
      socket.once('close', () => {
        for (const l of listeners) l();
        r({ byServer: !destroyedByUs });
      }),
    );
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      for (const l of listeners) l();
    });
    socket.on('error', () => undefined); // resets are part of what these tests observe, via `closed`
    const text = (): string => Buffer.concat(chunks).toString('latin1');
    const conn: RawConnection = {
      socket,
      closed,
      text,
      write: (data) =>
        new Promise<void>((resolveWrite, rejectWrite) => {
          if (socket.destroyed) return rejectWrite(new Error('socket closed'));
          socket.write(data, (err) => (err ? rejectWrite(err) : resolveWrite()));
        }),
      waitFor: (pattern, timeoutMs = 2000) =>
        new Promise<string>((resolveWait, rejectWait) => {
          const check = (): void => {
            const current = text();
            if (pattern.test(current)) {
              finish();
              resolveWait(current);
            } else if (socket.destroyed || socket.readableEnded) {
              finish();
              rejectWait(new Error(`connection closed before ${pattern} matched; received: ${current.slice(0, 500)}`));
            }
          };
          const timer = setTimeout(() => {
            finish();
            rejectWait(new Error(`no ${pattern} within ${timeoutMs} ms; received: ${text().slice(0, 500)}`));
          }, timeoutMs);
          const finish = (): void => {
            clearTimeout(timer);
            listeners.delete(check);
          };
          listeners.add(check);
          check();
        }),
      destroy: () => {
        if (!socket.destroyed) destroyedByUs = true;
        socket.destroy();
      },
    };
    onCleanup(() => conn.destroy());
    socket.once('connect', () => resolveOpen(conn));
    socket.once('error', reject);
  });
}
