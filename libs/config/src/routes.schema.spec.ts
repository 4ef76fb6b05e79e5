import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type GatewayEnv } from './config.types.js';
import { loadConfig, loadEnv, loadRoutes, parseRoutes } from './load-config.js';
import { ConfigError } from './problems.js';
import { RESERVED_PREFIXES } from './routes.schema.js';

const ENV = loadEnv({});

/** The problem lines for a routes file's text (none: []). */
function problemsOf(yaml: string, env: GatewayEnv = ENV): string[] {
  try {
    parseRoutes(yaml, env, 'routes.yaml');
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return [...err.problems];
  }
}

const FLAKY = 'services:\n  flaky:\n    instances: [http://127.0.0.1:8001]\n';

describe('routes file: problems by YAML path', () => {
  it('names the path of a negative maxRetries', () => {
    expect(problemsOf(`${FLAKY}    retry: { maxRetries: -1 }\n`)).toEqual([
      'services.flaky.retry.maxRetries: must be ≥ 0',
    ]);
  });

  it('names each bad instance by index', () => {
    const problems = problemsOf(
      'services:\n  flaky:\n    instances: [http://127.0.0.1:8001, "ftp://x:1", "nope", 42]\n',
    );
    expect(problems).toEqual([
      'services.flaky.instances[1]: "ftp://x:1" must use http or https',
      'services.flaky.instances[2]: "nope" is not a URL; expected http(s)://host:port[/base-path]',
      'services.flaky.instances[3]: expected string, got number 42',
    ]);
    expect(problemsOf('services:\n  flaky:\n    instances: ["http://u:p@h:1"]\n')).toEqual([
      'services.flaky.instances[0]: "http://u:p@h:1" may not carry credentials, a query or a fragment',
    ]);
  });

  it('lists every problem of a file, one line each', () => {
    const problems = problemsOf(
      [
        'services:',
        '  flaky:',
        '    instances: []',
        '    timeoutMs: 0',
        '    retry: { maxRetries: -1, multiplier: 0.5, retryOn: [timeout, 404] }',
        '    circuitBreaker: { failureThreshold: 0 }',
        '    rateLimit: { capacity: 0 }',
        '    cache: { ttlSeconds: -1 }',
        '    auth: sometimes',
        '  Bad_Name:',
        '    instances: [http://127.0.0.1:1]',
        'routes:',
        '  - { path: /health/x, service: flaky }',
        '  - { path: relative, service: nowhere }',
      ].join('\n'),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'services.flaky.instances: must have at least 1 item(s)',
        'services.flaky.timeoutMs: must be ≥ 1',
        'services.flaky.retry.maxRetries: must be ≥ 0',
        'services.flaky.retry.multiplier: must be ≥ 1',
        'services.flaky.retry.retryOn[1]: 404 is not a retry outcome; expected connect-failure, timeout, or a status 500–599, 408 or 429',
        'services.flaky.circuitBreaker.failureThreshold: must be ≥ 1',
        'services.flaky.cache.ttlSeconds: must be ≥ 0',
        'routes[0].path: "/health/x" overlaps the gateway\'s own prefix /health',
        'routes[1].path: must start with / and contain only URL path characters',
        'routes[1].service: no service named "nowhere"',
        'services.flaky.auth: Invalid option: expected one of "required"|"none"',
        'services.Bad_Name: service names use only [a-z0-9-]',
      ]),
    );
    expect(problems).toContain('services.flaky.rateLimit.capacity: must be ≥ 1');
    expect(problems).toHaveLength(13);
    for (const line of problems) {
      expect(line).not.toContain('\n');
      expect(line).toMatch(/^(services|routes)[.[]/);
    }
  });

  it('compares timeouts and backoffs within a service', () => {
    expect(problemsOf(`${FLAKY}    timeoutMs: 3000\n    totalTimeoutMs: 1000\n`)).toEqual([
      'services.flaky.totalTimeoutMs: 1000 is below timeoutMs (3000); expected ≥ it',
    ]);
    expect(problemsOf(`${FLAKY}    retry: { initialBackoffMs: 500, maxBackoffMs: 100 }\n`)).toEqual([
      'services.flaky.retry.maxBackoffMs: is below initialBackoffMs; expected ≥ it',
    ]);
  });

  it('names a route to a service that does not exist', () => {
    expect(problemsOf(`${FLAKY}routes:\n  - { path: /api, service: ghost }\n`)).toEqual([
      'routes[0].service: no service named "ghost"',
    ]);
  });

  it('refuses a mount path used twice, and dot segments', () => {
    expect(
      problemsOf(`${FLAKY}routes:\n  - { path: /api, service: flaky }\n  - { path: /api/, service: flaky }\n`),
    ).toEqual(['routes[1].path: "/api/" is mounted twice']);
    expect(problemsOf(`${FLAKY}routes:\n  - { path: /api/../x, service: flaky }\n`)).toEqual([
      'routes[0].path: may not contain . or .. segments',
    ]);
    expect(problemsOf(`${FLAKY}routes:\n  - { path: /api, service: flaky, rewrite: /a/./b }\n`)).toEqual([
      'routes[0].rewrite: may not contain . or .. segments',
    ]);
  });

  it('reports YAML syntax errors and duplicate keys with the file name', () => {
    const syntax = problemsOf('services: {flaky: [\n');
    expect(syntax.length).toBeGreaterThan(0);
    expect(syntax[0]).toMatch(/^routes\.yaml: YAML: /);
    const dup = problemsOf(`${FLAKY}  flaky:\n    instances: [http://127.0.0.1:2]\n`);
    expect(dup).toHaveLength(1);
    expect(dup[0]).toMatch(/^routes\.yaml: YAML: .*(unique|duplicate)/i);
  });

  it('a file that is not a mapping is refused', () => {
    expect(problemsOf('- a\n- b\n')).toEqual(['expected object, got a list']);
    expect(problemsOf('services: [a]\n')).toEqual(['services: expected record, got a list']);
  });
});

describe('routes file: unknown keys are errors', () => {
  it.each([
    ['top level', `${FLAKY}route:\n  - { path: /x, service: flaky }\n`, 'route'],
    ['service', `${FLAKY}    timeout: 100\n`, 'services.flaky.timeout'],
    ['retry', `${FLAKY}    retry: { maxRetry: 1 }\n`, 'services.flaky.retry.maxRetry'],
    ['budget', `${FLAKY}    retry: { budget: { ration: 0.1 } }\n`, 'services.flaky.retry.budget.ration'],
    ['breaker', `${FLAKY}    circuitBreaker: { threshold: 3 }\n`, 'services.flaky.circuitBreaker.threshold'],
    ['rate limit', `${FLAKY}    rateLimit: { capacity: 5, refill: 1 }\n`, 'services.flaky.rateLimit.refill'],
    ['cache', `${FLAKY}    cache: { ttl: 5 }\n`, 'services.flaky.cache.ttl'],
    ['route', `${FLAKY}routes:\n  - { path: /x, service: flaky, rewrites: /y }\n`, 'routes[0].rewrites'],
  ])('in %s', (_where, yaml, path) => {
    const problems = problemsOf(yaml);
    expect(problems).toContain(`${path}: unknown key (not part of the routes file format)`);
  });
});

describe('routes file: reserved prefixes', () => {
  it.each(RESERVED_PREFIXES.flatMap((p) => [p, `${p}/`, `${p}/below`]))('refuses a route at %s', (path) => {
    const problems = problemsOf(`${FLAKY}routes:\n  - { path: "${path}", service: flaky }\n`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^routes\[0\]\.path: ".*" overlaps the gateway's own prefix \//);
  });

  it('refuses a route above a reserved prefix (it would shadow it) and the root', () => {
    for (const path of ['/v1', '/']) {
      const problems = problemsOf(`${FLAKY}routes:\n  - { path: "${path}", service: flaky }\n`);
      expect(problems).toEqual([expect.stringMatching(/^routes\[0\]\.path: ".*" overlaps the gateway's own prefix/)]);
    }
  });

  it('compares without case, as the gateway’s own routes match', () => {
    for (const path of ['/Health', '/METRICS/x', '/Admin', '/V1/Proxy/x', '/PROXY']) {
      const problems = problemsOf(`${FLAKY}routes:\n  - { path: "${path}", service: flaky }\n`);
      expect(problems).toEqual([expect.stringMatching(/^routes\[0\]\.path: ".*" overlaps the gateway's own prefix/)]);
    }
  });

  it('accepts look-alikes that are not under a reserved prefix', () => {
    for (const path of ['/healthz', '/proxyx', '/administration', '/v1/proxyz', '/api/health']) {
      expect(problemsOf(`${FLAKY}routes:\n  - { path: "${path}", service: flaky }\n`)).toEqual([]);
    }
  });
});

describe('routes file: resolution', () => {
  const env = loadEnv({
    UPSTREAM_TIMEOUT_MS: '1234',
    UPSTREAM_TOTAL_TIMEOUT_MS: '5678',
    RETRY_MAX_RETRIES: '4',
    RETRY_ON: 'timeout,503',
    RETRY_BUDGET_RATIO: '0.5',
    BREAKER_FAILURE_THRESHOLD: '7',
    BREAKER_RESET_TIMEOUT_MS: '999',
    RATE_LIMIT_CAPACITY: '42',
    RATE_LIMIT_REFILL_PER_SECOND: '0.5',
  });

  it('fills every policy field from the env defaults', () => {
    const svc = parseRoutes(FLAKY, env, null).services.get('flaky')!;
    expect(svc).toEqual({
      name: 'flaky',
      instances: [
        {
          id: 'flaky/127.0.0.1:8001',
          service: 'flaky',
          origin: 'http://127.0.0.1:8001',
          basePath: '',
          hostPort: '127.0.0.1:8001',
        },
      ],
      timeoutMs: 1234,
      totalTimeoutMs: 5678,
      retry: {
        maxRetries: 4,
        initialBackoffMs: 100,
        multiplier: 2,
        maxBackoffMs: 2000,
        retryOn: ['timeout', 503],
        budget: { ratio: 0.5, minPerSecond: 10 },
      },
      circuitBreaker: { failureThreshold: 7, resetTimeoutMs: 999, halfOpenMaxRequests: 1, successThreshold: 1 },
      rateLimit: { capacity: 42, refillPerSecond: 0.5 },
      cache: null,
      auth: 'none',
    });
  });

  it('merges partial policies field by field', () => {
    const svc = parseRoutes(
      `${FLAKY}    retry: { maxRetries: 0, budget: { minPerSecond: 1 } }\n    circuitBreaker: { successThreshold: 3 }\n    rateLimit: { refillPerSecond: 2 }\n    cache: { ttlSeconds: 5 }\n`,
      env,
      null,
    ).services.get('flaky')!;
    expect(svc.retry).toMatchObject({
      maxRetries: 0,
      retryOn: ['timeout', 503],
      budget: { ratio: 0.5, minPerSecond: 1 },
    });
    expect(svc.circuitBreaker).toEqual({
      failureThreshold: 7,
      resetTimeoutMs: 999,
      halfOpenMaxRequests: 1,
      successThreshold: 3,
    });
    expect(svc.rateLimit).toEqual({ capacity: 42, refillPerSecond: 2 });
    expect(svc.cache).toEqual({ ttlSeconds: 5, staleIfErrorSeconds: 0, shareAcrossConsumers: false });
  });

  it('a per-try timeout above the default total raises the total to it', () => {
    const svc = parseRoutes(`${FLAKY}    timeoutMs: 9000\n`, env, null).services.get('flaky')!;
    expect(svc.totalTimeoutMs).toBe(9000);
  });

  it('rateLimit: false, or RATE_LIMIT_ENABLED=false, turns the limit off', () => {
    expect(parseRoutes(`${FLAKY}    rateLimit: false\n`, env, null).services.get('flaky')!.rateLimit).toBeNull();
    const off = loadEnv({ RATE_LIMIT_ENABLED: 'false' });
    expect(parseRoutes(FLAKY, off, null).services.get('flaky')!.rateLimit).toBeNull();
  });

  it('auth defaults to required when API keys exist', () => {
    const keyed = loadEnv({ API_KEYS: 'alice:0123456789abcdef' });
    expect(parseRoutes(FLAKY, keyed, null).services.get('flaky')!.auth).toBe('required');
    expect(parseRoutes(`${FLAKY}    auth: none\n`, keyed, null).services.get('flaky')!.auth).toBe('none');
  });

  it('resolves instances: base path, default ports, duplicates dropped', () => {
    const svc = parseRoutes(
      'services:\n  api:\n    instances: [http://a.local/base/, https://b.local, http://a.local:80/base]\n',
      ENV,
      null,
    ).services.get('api')!;
    expect(svc.instances).toEqual([
      { id: 'api/a.local:80', service: 'api', origin: 'http://a.local', basePath: '/base', hostPort: 'a.local:80' },
      { id: 'api/b.local:443', service: 'api', origin: 'https://b.local', basePath: '', hostPort: 'b.local:443' },
    ]);
  });

  it('routes: trailing slashes trimmed, rewrite defaults to the path, "/" strips it, longest first', () => {
    const routes = parseRoutes(
      `${FLAKY}routes:\n  - { path: /api/, service: flaky }\n  - { path: /api/v1/data, service: flaky, rewrite: /flaky-data }\n  - { path: /strip, service: flaky, rewrite: / }\n`,
      ENV,
      null,
    ).routes;
    expect(routes).toEqual([
      { path: '/api/v1/data', service: 'flaky', rewrite: '/flaky-data' },
      { path: '/strip', service: 'flaky', rewrite: '' },
      { path: '/api', service: 'flaky', rewrite: '/api' },
    ]);
  });

  it('an empty file is no services', () => {
    const routes = parseRoutes('', ENV, 'x.yaml');
    expect(routes.services.size).toBe(0);
    expect(routes.routes).toEqual([]);
  });

  it('is frozen and versioned by content', () => {
    const a = parseRoutes(FLAKY, ENV, null);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a.services.get('flaky')!.retry)).toBe(true);
    expect(a.version).toMatch(/^[0-9a-f]{12}$/);
    expect(parseRoutes(FLAKY, ENV, null).version).toBe(a.version);
    expect(parseRoutes(`${FLAKY}    timeoutMs: 10\n`, ENV, null).version).not.toBe(a.version);
  });
});

describe('UPSTREAM_URL', () => {
  it('defines service default at /proxy, stripped', () => {
    const env = loadEnv({ UPSTREAM_URL: 'http://127.0.0.1:9000/base' });
    const routes = parseRoutes(null, env, null);
    expect([...routes.services.keys()]).toEqual(['default']);
    expect(routes.services.get('default')!.instances).toEqual([
      {
        id: 'default/127.0.0.1:9000',
        service: 'default',
        origin: 'http://127.0.0.1:9000',
        basePath: '/base',
        hostPort: '127.0.0.1:9000',
      },
    ]);
    expect(routes.routes).toEqual([{ path: '/proxy', service: 'default', rewrite: '' }]);
  });

  it('sits beside the file’s services, and a route may name it', () => {
    const env = loadEnv({ UPSTREAM_URL: 'http://127.0.0.1:9000' });
    const routes = parseRoutes(`${FLAKY}routes:\n  - { path: /d, service: default }\n`, env, null);
    expect([...routes.services.keys()].sort()).toEqual(['default', 'flaky']);
    expect(routes.routes.map((r) => r.path)).toEqual(['/proxy', '/d']);
  });

  it('clashes with a service named default in the file', () => {
    const env = loadEnv({ UPSTREAM_URL: 'http://127.0.0.1:9000' });
    expect(problemsOf('services:\n  default:\n    instances: [http://127.0.0.1:1]\n', env)).toEqual([
      'services.default: is also defined by UPSTREAM_URL; remove one of them',
    ]);
  });

  it('without it, a route to "default" is refused', () => {
    expect(problemsOf(`${FLAKY}routes:\n  - { path: /d, service: default }\n`)).toEqual([
      'routes[0].service: no service named "default"',
    ]);
  });
});

describe('GATEWAY_CONFIG file semantics', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bw-routes-spec-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the default path, absent: no services but UPSTREAM_URL’s', () => {
    // loadEnv({}) points at config/gateway.yaml relative to the cwd: run from an empty dir.
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect(loadConfig({}).routes.services.size).toBe(0);
      const cfg = loadConfig({ UPSTREAM_URL: 'http://127.0.0.1:9000' });
      expect([...cfg.routes.services.keys()]).toEqual(['default']);
      expect(cfg.routes.source).toBeNull();
    } finally {
      process.chdir(cwd);
    }
  });

  it('named explicitly and absent: an error naming GATEWAY_CONFIG', () => {
    const missing = join(dir, 'missing.yaml');
    expect(() => loadConfig({ GATEWAY_CONFIG: missing })).toThrow(ConfigError);
    try {
      loadConfig({ GATEWAY_CONFIG: missing });
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([`GATEWAY_CONFIG: "${missing}": file does not exist`]);
    }
  });

  it('named explicitly and a directory: an error naming GATEWAY_CONFIG', () => {
    expect(() => loadRoutes(loadEnv({ GATEWAY_CONFIG: dir }))).toThrow(
      /^GATEWAY_CONFIG: ".*": cannot be read \(EISDIR\)$/,
    );
  });

  it('an existing file is read, its path recorded', () => {
    const file = join(dir, 'routes.yaml');
    writeFileSync(file, FLAKY);
    const cfg = loadConfig({ GATEWAY_CONFIG: file });
    expect([...cfg.routes.services.keys()]).toEqual(['flaky']);
    expect(cfg.routes.source).toBe(file);
  });

  it('loadConfig reports env problems before reading the file', () => {
    expect(() => loadConfig({ GATEWAY_CONFIG: join(dir, 'missing.yaml'), PORT: 'x' })).toThrow(/^PORT: /);
  });
});
