// Streaming both ways (issue 3 item 5): a 200 MB download and a 200 MB upload pass through the gateway
// with flat memory. The gateway's RSS is sampled from /proc/<pid>/status during each transfer.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as undiciRequest } from 'undici';
import {
  type FlakyProc,
  type GatewayProc,
  openRaw,
  request,
  sleep,
  startFlaky,
  startGateway,
  testAgent,
} from './helpers/index.js';

const MB = 1024 * 1024;
const SIZE = 200 * MB;
/** RSS growth allowed during a transfer: a fraction of what buffering would take. */
const MAX_GROWTH = 60 * MB;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz';

let flaky: FlakyProc;
let gw: GatewayProc;

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!kb) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kb[1]) * 1024;
}

/** Samples the gateway's RSS every few ms while `work` runs; resolves the work's result and the peak growth. */
async function sampled<T>(work: () => Promise<T>): Promise<{ result: T; growth: number; baseline: number }> {
  const pid = gw.process.pid!;
  const baseline = rssOf(pid);
  let peak = baseline;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssOf(pid));
  }, 10);
  try {
    const result = await work();
    peak = Math.max(peak, rssOf(pid));
    return { result, growth: peak - baseline, baseline };
  } finally {
    clearInterval(timer);
  }
}

/** Reads a body, checking its length and that each chunk continues the alphabet pattern of /bytes. */
async function drainPattern(body: AsyncIterable<Buffer>): Promise<number> {
  let offset = 0;
  for await (const chunk of body) {
    const first = chunk[0]!;
    const last = chunk[chunk.length - 1]!;
    if (first !== ALPHABET.charCodeAt(offset % 26) || last !== ALPHABET.charCodeAt((offset + chunk.length - 1) % 26)) {
      throw new Error(`body out of pattern at byte ${offset}`);
    }
    offset += chunk.length;
  }
  return offset;
}

/** `total` bytes in 64 KiB chunks, hashed as they are produced. */
function upload(total: number): { chunks: AsyncGenerator<Uint8Array>; sha256: () => string } {
  const hash = createHash('sha256');
  const block = Buffer.alloc(64 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = (i * 31 + 7) & 0xff;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (let sent = 0; sent < total; sent += block.length) {
      const piece = block.subarray(0, Math.min(block.length, total - sent));
      hash.update(piece);
      yield piece;
    }
  }
  return { chunks: chunks(), sha256: () => hash.digest('hex') };
}

beforeAll(async () => {
  flaky = await startFlaky({ env: { INSTANCE_ID: 'big' } });
  gw = await startGateway({
    routes: {
      services: {
        big: { instances: [flaky.url], timeoutMs: 10_000, totalTimeoutMs: 60_000, retry: { maxRetries: 0 } },
        // PUT is retried here: its body would be kept for replay if it were small enough.
        replay: { instances: [flaky.url], timeoutMs: 10_000, totalTimeoutMs: 60_000, retry: { maxRetries: 2 } },
      },
    },
    env: {
      RATE_LIMIT_ENABLED: 'false',
      BODY_LIMIT_BYTES: String(300 * MB),
      LOG_LEVEL: 'warn',
      SHUTDOWN_DRAIN_MS: '200',
    },
  });
  // Warm up (JIT, pools, first buffers) so the baselines below are steady.
  const res = await request(`${gw.url}/v1/proxy/big/bytes?n=${4 * MB}`);
  expect(res.text).toHaveLength(4 * MB);
  const up = upload(4 * MB);
  expect((await request(`${gw.url}/v1/proxy/big/upload`, { method: 'POST', body: up.chunks })).status).toBe(200);
}, 30_000);

it('a 200 MB download streams through with flat gateway memory', async () => {
  const { result, growth } = await sampled(async () => {
    const res = await undiciRequest(`${gw.url}/v1/proxy/big/bytes?n=${SIZE}`, {
      dispatcher: testAgent(),
      signal: AbortSignal.timeout(30_000),
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe(String(SIZE));
    return drainPattern(res.body as AsyncIterable<Buffer>);
  });
  expect(result).toBe(SIZE);
  expect(growth).toBeLessThan(MAX_GROWTH);
}, 60_000);

it('a 200 MB chunked download (no Content-Length) streams through with flat gateway memory', async () => {
  const { result, growth } = await sampled(async () => {
    const res = await undiciRequest(`${gw.url}/v1/proxy/big/stream?n=${SIZE}`, {
      dispatcher: testAgent(),
      signal: AbortSignal.timeout(30_000),
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBeUndefined();
    return drainPattern(res.body as AsyncIterable<Buffer>);
  });
  expect(result).toBe(SIZE);
  expect(growth).toBeLessThan(MAX_GROWTH);
}, 60_000);

it('a client that reads nothing holds the upstream back (backpressure), memory flat', async () => {
  await flaky.resetCounts();
  const { growth } = await sampled(async () => {
    const conn = await openRaw(gw.port);
    conn.socket.pause(); // read nothing: the kernel buffers fill, then the gateway must stop reading upstream
    await conn.write(`GET /v1/proxy/big/bytes?n=${SIZE} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await sleep(700);
    conn.destroy();
  });
  expect(growth).toBeLessThan(MAX_GROWTH);
  // The upstream was stopped short and then cut off, not allowed to push all 200 MB into the gateway.
  const deadline = Date.now() + 3000;
  while ((await flaky.counts()).aborted === 0 && Date.now() < deadline) await sleep(10);
  expect((await flaky.counts()).aborted).toBe(1);
}, 30_000);

it.each([
  ['POST, chunked (no Content-Length)', 'POST', 'big', false],
  ['PUT with Content-Length, retryable service', 'PUT', 'replay', true],
] as const)(
  'a 200 MB upload streams through with flat gateway memory: %s',
  async (_how, method, service, withLength) => {
    const up = upload(SIZE);
    const { result, growth } = await sampled(() =>
      request(`${gw.url}/v1/proxy/${service}/upload`, {
        method,
        body: up.chunks,
        headers: withLength ? { 'content-length': String(SIZE) } : {},
        timeoutMs: 30_000,
      }),
    );
    expect(result.status).toBe(200);
    expect(result.json()).toEqual({ bytes: SIZE, sha256: up.sha256() });
    expect(growth).toBeLessThan(MAX_GROWTH);
  },
  60_000,
);
