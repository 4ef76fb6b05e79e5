// Start-up configuration errors (CONTRACT §2, issue 3 "Done when"): the real gateway process exits 1 with one
// stderr line per problem, naming the variable or the routes file's YAML path; nothing starts half-configured.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  baseEnv,
  builtFile,
  freePort,
  ManagedProcess,
  onCleanup,
  request,
  startFlaky,
  waitForPort,
} from './helpers/index.js';

let dir: string;
const GATEWAY = (): string => builtFile('dist/apps/gateway/main.js');

type Exit = { code: number; stderr: string[]; stdout: string[] };
/** The refused configurations, started together (each process pays Nest's import time) and awaited per test. */
const runs: Record<string, Promise<Exit>> = {};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bw-config-e2e-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ok.yaml'), 'services: {}\n');
  writeFileSync(
    join(dir, 'bad.yaml'),
    [
      'services:',
      '  flaky:',
      '    instances: [http://127.0.0.1:8001, "ftp://nope"]',
      '    retry: { maxRetries: -1 }',
      '    circuitBreaker: { treshold: 3 }',
      'routes:',
      '  - { path: /health/x, service: flaky }',
      '  - { path: /data, service: ghost }',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'broken.yaml'), 'services: { flaky: [\n');
  const settle = (p: Promise<Exit>): Promise<Exit> => (p.catch(() => undefined), p); // awaited by its test
  runs.breaker = settle(runToExit({ BREAKER_FAILURE_THRESHOLD: 'abc' }));
  runs.several = settle(
    runToExit({ PORT: 'eighty', RATE_LIMIT_ENABLED: 'yes', TRUST_PROXY: 'sometimes', RETRY_ON: 'timeout,404' }),
  );
  runs.secrets = settle(
    runToExit({
      API_KEYS: 'alice-without-colon-sekr1t-value',
      REDIS_URL: 'http://:hunter2-password@127.0.0.1:6379',
    }),
  );
  runs.badFile = settle(runToExit({ GATEWAY_CONFIG: join(dir, 'bad.yaml') }));
  runs.brokenFile = settle(runToExit({ GATEWAY_CONFIG: join(dir, 'broken.yaml') }));
  runs.missing = settle(runToExit({ GATEWAY_CONFIG: join(dir, 'missing.yaml') }));
});

/** Runs the gateway with `env` until it exits (it must, within 20 s); resolves its code and output. */
async function runToExit(env: Record<string, string>): Promise<Exit> {
  const port = await freePort();
  const child = new ManagedProcess(process.execPath, [GATEWAY()], {
    name: 'gateway:config',
    env: baseEnv({ PORT: String(port), HOST: '127.0.0.1', GATEWAY_CONFIG: join(dir, 'ok.yaml'), ...env }),
  });
  const code = await Promise.race([
    child.exited,
    new Promise<number>((_, reject) =>
      setTimeout(() => reject(new Error(`still running after 20 s:\n${child.tail()}`)), 20_000).unref(),
    ),
  ]);
  return { code, stderr: child.lines('stderr'), stdout: child.lines('stdout') };
}

it('BREAKER_FAILURE_THRESHOLD=abc: exit 1 with exactly one stderr line naming it', async () => {
  const { code, stderr, stdout } = await runs.breaker!;
  expect(code).toBe(1);
  expect(stderr).toHaveLength(1);
  expect(stderr[0]).toMatch(/BREAKER_FAILURE_THRESHOLD/);
  expect(stderr[0]).toMatch(/"abc" is not an integer; expected an integer ≥ 1/);
  expect(stdout).toEqual([]); // nothing started, nothing logged
}, 25_000);

it('several bad variables: one line each, every one named', async () => {
  const { code, stderr } = await runs.several!;
  expect(code).toBe(1);
  expect(stderr).toHaveLength(4);
  for (const name of ['PORT', 'RATE_LIMIT_ENABLED', 'TRUST_PROXY', 'RETRY_ON']) {
    expect(stderr.filter((line) => line.includes(`${name}:`))).toHaveLength(1);
  }
}, 25_000);

it('secrets in bad values are never printed', async () => {
  const { code, stderr } = await runs.secrets!;
  expect(code).toBe(1);
  expect(stderr).toHaveLength(2);
  const text = stderr.join('\n');
  expect(text).toMatch(/API_KEYS: /);
  expect(text).toMatch(/REDIS_URL: /);
  expect(text).not.toContain('sekr1t');
  expect(text).not.toContain('hunter2');
}, 25_000);

it('an invalid routes file: exit 1, every problem listed by its YAML path', async () => {
  const { code, stderr } = await runs.badFile!;
  expect(code).toBe(1);
  const lines = stderr.map((line) => line.replace(/^config error: /, ''));
  expect(lines.sort()).toEqual(
    [
      'services.flaky.instances[1]: "ftp://nope" must use http or https',
      'services.flaky.retry.maxRetries: must be ≥ 0',
      'services.flaky.circuitBreaker.treshold: unknown key (not part of the routes file format)',
      'routes[0].path: "/health/x" overlaps the gateway\'s own prefix /health',
      'routes[1].service: no service named "ghost"',
    ].sort(),
  );
}, 25_000);

it('a routes file that is not YAML: exit 1 naming the file', async () => {
  const file = join(dir, 'broken.yaml');
  const { code, stderr } = await runs.brokenFile!;
  expect(code).toBe(1);
  expect(stderr.length).toBeGreaterThanOrEqual(1);
  for (const line of stderr) expect(line).toContain(`${file}: YAML: `);
}, 25_000);

it('GATEWAY_CONFIG named explicitly and absent: exit 1 naming it', async () => {
  const missing = join(dir, 'missing.yaml');
  const { code, stderr } = await runs.missing!;
  expect(code).toBe(1);
  expect(stderr).toEqual([`config error: GATEWAY_CONFIG: "${missing}": file does not exist`]);
}, 25_000);

it('GATEWAY_CONFIG left at its default and absent: starts with UPSTREAM_URL’s service only', async () => {
  const flaky = await startFlaky({ env: { INSTANCE_ID: 'only' } });
  const empty = mkdtempSync(join(dir, 'cwd-'));
  const port = await freePort();
  const child = new ManagedProcess(process.execPath, [GATEWAY()], {
    name: 'gateway:default-config',
    env: baseEnv({ PORT: String(port), HOST: '127.0.0.1', UPSTREAM_URL: flaky.url, RATE_LIMIT_ENABLED: 'false' }),
    cwd: empty, // no config/gateway.yaml here
  });
  await waitForPort(port, '127.0.0.1', 10_000, { process: child });
  const res = await request(`http://127.0.0.1:${port}/proxy/users`);
  expect(res.status).toBe(200);
  expect(res.headers['x-instance-id']).toBe('only');
  expect((await request(`http://127.0.0.1:${port}/v1/proxy/flaky/users`)).status).toBe(404);
  expect(await child.stop('SIGTERM', 5000)).toBe(0);
}, 20_000);
