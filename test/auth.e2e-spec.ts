// API keys end to end: the gateway process, a real flaky-upstream, keys inline and in a
// Kubernetes-style mounted file that is rotated while the gateway runs.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type FlakyProc,
  type GatewayProc,
  type HttpResponse,
  onCleanup,
  request,
  sleep,
  startFlaky,
  startGateway,
} from './helpers/index.js';
import { agentFrom } from './helpers/source-address.js';

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

const ALICE = 'alice-inline-key-7c1f9e'; // API_KEYS
const BOB = 'bob-file-key-52aa0d'; // API_KEYS_FILE, first version
const CAROL = 'carol-file-key-e8b4c3'; // written in place
const DAVE = 'dave-file-key-1d77f0'; // Secret-style ..data swap
const ADMIN = 'admin-key-9f0e61c2';
const WRONG = ['wrong-key-0a1b2c', 'wrong-key-3d4e5f'];

let flaky: FlakyProc;
let gw: GatewayProc;
let keysDir: string;
let version = 0;

/** Writes a new `..<version>` folder with `keys` and swaps `..data` to it atomically, as the kubelet does. */
function publishSecret(lines: string): void {
  const dir = `..v${++version}`;
  mkdirSync(join(keysDir, dir));
  writeFileSync(join(keysDir, dir, 'keys'), lines);
  symlinkSync(dir, join(keysDir, '..data_tmp'));
  renameSync(join(keysDir, '..data_tmp'), join(keysDir, '..data'));
}

const secure = (path = '/echo/x'): string => `${gw.url}/v1/proxy/secure${path}`;
const open = (path = '/echo/x'): string => `${gw.url}/v1/proxy/open${path}`;
const echoed = (res: HttpResponse): Record<string, string> => res.json<{ headers: Record<string, string> }>().headers;

const reloads = (result: 'success' | 'failure'): number =>
  gw.logs().filter((l) => l.event === 'api_keys_reload' && l.result === result).length;

/** Polls until `fn` holds (the key file watcher is asynchronous); fails after `timeoutMs`. */
async function eventually(fn: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms`);
    await sleep(25);
  }
}

beforeAll(async () => {
  keysDir = mkdtempSync(join(tmpdir(), 'bw-keys-'));
  onCleanup(() => rmSync(keysDir, { recursive: true, force: true }));
  publishSecret(`# first version\nbob:${sha256(BOB)}\n`);
  symlinkSync('..data/keys', join(keysDir, 'keys'));

  flaky = await startFlaky();
  gw = await startGateway({
    routes: {
      services: {
        secure: { instances: [flaky.url], auth: 'required', rateLimit: { capacity: 1000, refillPerSecond: 100 } },
        open: { instances: [flaky.url], auth: 'none', rateLimit: { capacity: 1000, refillPerSecond: 100 } },
      },
    },
    env: {
      API_KEYS: `alice:${ALICE}`,
      API_KEYS_FILE: join(keysDir, 'keys'),
      ADMIN_API_KEY: ADMIN,
      LOG_LEVEL: 'debug',
      SHUTDOWN_DRAIN_MS: '200',
    },
  });
}, 30_000);

describe('ApiKeyGuard', () => {
  it('answers 401 problem+json with a WWW-Authenticate challenge when the key is missing, without calling the upstream', async () => {
    await flaky.resetCounts();
    const res = await request(secure());
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="breakwater", ApiKey .*header="X-API-Key"/);
    expect(res.json()).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect((await flaky.counts()).total).toBe(0);
  });

  it('accepts an inline key in X-API-Key: strips it and names the consumer upstream', async () => {
    const res = await request(secure(), { headers: { 'x-api-key': ALICE } });
    expect(res.status).toBe(200);
    const headers = echoed(res);
    expect(headers['x-consumer-name']).toBe('alice');
    expect(headers['x-api-key']).toBeUndefined();
  });

  it('accepts a hashed file key as Authorization: Bearer, and strips that header', async () => {
    const res = await request(secure(), { headers: { authorization: `Bearer ${BOB}` } });
    expect(res.status).toBe(200);
    const headers = echoed(res);
    expect(headers['x-consumer-name']).toBe('bob');
    expect(headers.authorization).toBeUndefined();
  });

  it('never lets a client-sent X-Consumer-Name reach the upstream', async () => {
    const forgedAnonymous = await request(open(), { headers: { 'x-consumer-name': 'admin' } });
    expect(forgedAnonymous.status).toBe(200);
    expect(echoed(forgedAnonymous)['x-consumer-name']).toBeUndefined();
    const forgedWithKey = await request(secure(), { headers: { 'x-api-key': ALICE, 'X-Consumer-Name': 'root' } });
    expect(forgedWithKey.status).toBe(200);
    expect(echoed(forgedWithKey)['x-consumer-name']).toBe('alice');
  });

  it('on an `auth: none` service: a valid key still names the consumer; other credentials pass through untouched', async () => {
    const withKey = await request(open(), { headers: { 'x-api-key': ALICE } });
    expect(withKey.status).toBe(200);
    expect(echoed(withKey)['x-consumer-name']).toBe('alice');
    expect(echoed(withKey)['x-api-key']).toBeUndefined();
    const upstreamToken = await request(open(), { headers: { authorization: 'Bearer the-upstreams-own-jwt' } });
    expect(upstreamToken.status).toBe(200);
    expect(echoed(upstreamToken).authorization).toBe('Bearer the-upstreams-own-jwt');
    expect(echoed(upstreamToken)['x-consumer-name']).toBeUndefined();
  });

  it('leaves health and metrics open', async () => {
    expect((await request(`${gw.url}/health/live`)).status).toBe(200);
    expect((await request(`${gw.url}/metrics`)).status).toBe(200);
  });

  it('ends 20 wrong keys from one address in 429, then refuses even a good key from it, while other addresses go on', async () => {
    const attacker = agentFrom('127.0.0.3');
    const statuses: number[] = [];
    let last: HttpResponse | undefined;
    for (let i = 0; i < 20; i++) {
      last = await request(secure(), { headers: { 'x-api-key': `${WRONG[0]}-${i}` }, dispatcher: attacker });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([...Array<number>(10).fill(401), ...Array<number>(10).fill(429)]);
    expect(last!.json()).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(Number(last!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Blocked: a right guess must look exactly like a wrong one, or 429 vs 200 would be an oracle.
    expect((await request(secure(), { headers: { 'x-api-key': ALICE }, dispatcher: attacker })).status).toBe(429);
    expect((await request(secure(), { headers: { 'x-api-key': ALICE } })).status).toBe(200); // from 127.0.0.1
  });
});

describe('API_KEYS_FILE rotation (no restart)', () => {
  it('takes a file rewritten in place', async () => {
    // Polls the log, not the key: wrong keys would spend this address's failure budget.
    const before = reloads('success');
    publishSecretInPlace(`carol:${sha256(CAROL)}\n`);
    await eventually(async () => reloads('success') > before);
    expect((await request(secure(), { headers: { 'x-api-key': CAROL } })).status).toBe(200);
    expect((await request(secure(), { headers: { 'x-api-key': BOB } })).status).toBe(401);
    expect((await request(secure(), { headers: { 'x-api-key': ALICE } })).status).toBe(200); // inline keys stay
  });

  it('takes a Kubernetes Secret update (the ..data symlink swapped)', async () => {
    const before = reloads('success');
    publishSecret(`dave:${sha256(DAVE)}\n`);
    await eventually(async () => reloads('success') > before);
    expect((await request(secure(), { headers: { 'x-api-key': DAVE } })).status).toBe(200);
    expect((await request(secure(), { headers: { 'x-api-key': CAROL } })).status).toBe(401);
  });

  it('keeps the current keys when the new file is invalid, and says so in the log', async () => {
    publishSecret(`dave:${sha256(DAVE)}\nnot a key line\n`);
    await eventually(async () => reloads('failure') > 0);
    const failure = gw.logs().find((l) => l.event === 'api_keys_reload' && l.result === 'failure')!;
    expect(JSON.stringify(failure.problems)).toMatch(/:2: expected name:sha256hex \(line not shown\)/);
    expect((await request(secure(), { headers: { 'x-api-key': DAVE } })).status).toBe(200);
  });
});

describe('AdminGuard', () => {
  const admin = (): string => `${gw.url}/admin/breakers`;

  it('lets ADMIN_API_KEY in, as X-API-Key or Bearer', async () => {
    expect((await request(admin(), { headers: { 'x-api-key': ADMIN } })).status).toBe(200);
    expect((await request(admin(), { headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(200);
  });

  it('answers 401 to a missing or wrong key, and API keys do not count', async () => {
    const missing = await request(admin());
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBeDefined();
    expect((await request(admin(), { headers: { 'x-api-key': WRONG[1]! } })).status).toBe(401);
    expect((await request(admin(), { headers: { 'x-api-key': ALICE } })).status).toBe(401);
  });
});

describe('secrets in the output', () => {
  it('never prints a key, right or wrong, in anything the gateway wrote', async () => {
    await sleep(50); // let the last access-log lines arrive
    const out = gw.output();
    expect(out).toContain('"event":"request"'); // the capture works: requests were logged
    for (const secret of [ALICE, BOB, CAROL, DAVE, ADMIN, ...WRONG, 'the-upstreams-own-jwt']) {
      expect(out).not.toContain(secret);
    }
  });
});

describe('with RATE_LIMIT_ENABLED=false', () => {
  it('still ends key guessing in 429: the failed-key budget is not a per-client limit', async () => {
    const plain = await startGateway({
      routes: { services: { secure: { instances: [flaky.url], auth: 'required' } } },
      env: { API_KEYS: `alice:${ALICE}`, RATE_LIMIT_ENABLED: 'false', SHUTDOWN_DRAIN_MS: '200' },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      statuses.push(
        (await request(`${plain.url}/v1/proxy/secure/ok`, { headers: { 'x-api-key': `wrong-${i}-guess` } })).status,
      );
    }
    expect(statuses.slice(0, 10)).toEqual(Array<number>(10).fill(401));
    expect(statuses.slice(10)).toEqual([429, 429]);
  });
});

/** Rewrites the current version's file through the `keys` symlink (no swap): the stat poll must catch it. */
function publishSecretInPlace(lines: string): void {
  writeFileSync(join(keysDir, 'keys'), lines);
}
