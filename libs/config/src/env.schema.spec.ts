import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENV_SCHEMA, ENV_VARIABLE_NAMES, parseEnvVariables } from './env.schema.js';
import { loadEnv } from './load-config.js';
import { ConfigError } from './problems.js';

/** The problem lines `loadEnv` reports for `env` (none: []). */
function problemsOf(env: Record<string, string>): string[] {
  try {
    loadEnv(env);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return [...err.problems];
  }
}

/** The parsed value of one variable (throws with the problems when it is refused). */
function valueOf<K extends keyof typeof ENV_SCHEMA>(name: K, raw: string): unknown {
  const { values, problems } = parseEnvVariables({ [name]: raw });
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return values[name];
}

describe('loadEnv defaults', () => {
  it('gives every CONTRACT §2 default with an empty environment', () => {
    const env = loadEnv({});
    expect(env.port).toBe(8080);
    expect(env.host).toBe('0.0.0.0');
    expect(env.managementPort).toBeNull();
    expect(env.gatewayConfig).toEqual({
      path: 'config/gateway.yaml',
      explicit: false,
    });
    expect(env.upstreamUrl).toBeNull();
    expect(env.redis).toMatchObject({
      url: null,
      cluster: false,
      keyPrefix: 'bw:',
    });
    expect(env.apiKeys).toEqual({ inline: [], file: null });
    expect(env.adminApiKey).toBeNull();
    expect(env.trustProxy).toBe(false);
    expect(env.tls).toBeNull();
    expect(env.logLevel).toBe('info');
    expect(env.defaults).toEqual({
      timeoutMs: 5000,
      totalTimeoutMs: 15000,
      retry: {
        maxRetries: 2,
        initialBackoffMs: 100,
        multiplier: 2,
        maxBackoffMs: 2000,
        retryOn: ['connect-failure', 'timeout', 502, 503, 504],
        budget: { ratio: 0.2, minPerSecond: 10 },
      },
      circuitBreaker: {
        failureThreshold: 5,
        resetTimeoutMs: 10000,
        halfOpenMaxRequests: 1,
        successThreshold: 1,
      },
      rateLimit: { capacity: 100, refillPerSecond: 10 },
    });
    expect(env.rateLimitEnabled).toBe(true);
    expect(env.shutdownDrainMs).toBe(25000);
    expect(env.bodyLimitBytes).toBe(10485760);
  });

  it('is frozen all the way down', () => {
    const env = loadEnv({});
    expect(Object.isFrozen(env)).toBe(true);
    expect(Object.isFrozen(env.defaults.retry)).toBe(true);
    expect(Object.isFrozen(env.defaults.retry.retryOn)).toBe(true);
    expect(() => {
      (env as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('ignores variables it does not know', () => {
    expect(problemsOf({ SOMETHING_ELSE: 'x', PATH: '/bin' })).toEqual([]);
    expect(ENV_VARIABLE_NAMES).toContain('BREAKER_FAILURE_THRESHOLD');
  });
});

describe('booleans', () => {
  it.each([
    ['true', true],
    ['false', false],
    ['1', true],
    ['0', false],
    ['TRUE', true],
    [' false ', false],
  ])('%j → %s', (raw, expected) => {
    expect(valueOf('RATE_LIMIT_ENABLED', raw)).toBe(expected);
    expect(valueOf('REDIS_CLUSTER', raw)).toBe(expected);
  });

  it.each(['yes', 'no', 'on', '2', '', 'truee'])('refuses %j naming the variable and the expected form', (raw) => {
    expect(problemsOf({ RATE_LIMIT_ENABLED: raw })).toEqual([
      `RATE_LIMIT_ENABLED: "${raw}" is not a boolean; expected true, false, 1 or 0`,
    ]);
  });

  it('reaches the typed config', () => {
    expect(loadEnv({ RATE_LIMIT_ENABLED: '0' }).rateLimitEnabled).toBe(false);
    expect(loadEnv({ DASHBOARD_DRILL: '1' }).dashboard.drill).toBe(true);
  });
});

describe('numbers', () => {
  it('accepts fractions where the meaning allows', () => {
    const env = loadEnv({
      RATE_LIMIT_REFILL_PER_SECOND: '0.5',
      RETRY_BUDGET_RATIO: '0.25',
      RETRY_BACKOFF_MULTIPLIER: '1.5',
      RETRY_INITIAL_BACKOFF_MS: '12.5',
      RATE_LIMIT_CAPACITY: '2.5',
    });
    expect(env.defaults.rateLimit).toEqual({
      capacity: 2.5,
      refillPerSecond: 0.5,
    });
    expect(env.defaults.retry.budget.ratio).toBe(0.25);
    expect(env.defaults.retry.multiplier).toBe(1.5);
    expect(env.defaults.retry.initialBackoffMs).toBe(12.5);
  });

  it('refuses fractions for counts and ports', () => {
    expect(problemsOf({ BREAKER_FAILURE_THRESHOLD: '2.5' })).toEqual([
      'BREAKER_FAILURE_THRESHOLD: "2.5" is not an integer; expected an integer ≥ 1 and ≤ 1000',
    ]);
    expect(problemsOf({ PORT: '80.5' })).toEqual([
      'PORT: "80.5" is not an integer; expected an integer ≥ 1 and ≤ 65535',
    ]);
  });

  it.each(['abc', '', ' ', '1e', '0x', 'NaN', 'Infinity', '5ms'])('refuses %j as a number', (raw) => {
    const [line, ...rest] = problemsOf({ UPSTREAM_TIMEOUT_MS: raw });
    expect(rest).toEqual([]);
    expect(line).toBe(`UPSTREAM_TIMEOUT_MS: "${raw}" is not an integer; expected an integer ≥ 1 and ≤ 3600000 (ms)`);
  });

  it('checks ranges and says the range', () => {
    expect(problemsOf({ PORT: '0' })).toEqual(['PORT: 0 is out of range; expected an integer ≥ 1 and ≤ 65535']);
    expect(problemsOf({ PORT: '65536' })).toEqual(['PORT: 65536 is out of range; expected an integer ≥ 1 and ≤ 65535']);
    expect(problemsOf({ RETRY_MAX_RETRIES: '-1' })).toEqual([
      'RETRY_MAX_RETRIES: -1 is out of range; expected an integer ≥ 0 and ≤ 10',
    ]);
    expect(problemsOf({ RETRY_BACKOFF_MULTIPLIER: '0.5' })).toEqual([
      'RETRY_BACKOFF_MULTIPLIER: 0.5 is out of range; expected a number ≥ 1 and ≤ 10',
    ]);
    expect(problemsOf({ RATE_LIMIT_REFILL_PER_SECOND: '-0.1' })).toEqual([
      'RATE_LIMIT_REFILL_PER_SECOND: -0.1 is out of range; expected a number ≥ 0 and ≤ 1000000000',
    ]);
  });

  it('accepts the range bounds', () => {
    expect(loadEnv({ PORT: '1' }).port).toBe(1);
    expect(loadEnv({ PORT: '65535' }).port).toBe(65535);
    expect(loadEnv({ RETRY_MAX_RETRIES: '0' }).defaults.retry.maxRetries).toBe(0);
    expect(loadEnv({ BODY_LIMIT_BYTES: '0' }).bodyLimitBytes).toBe(0);
  });

  it('compares the two timeouts', () => {
    expect(
      problemsOf({
        UPSTREAM_TIMEOUT_MS: '2000',
        UPSTREAM_TOTAL_TIMEOUT_MS: '1000',
      }),
    ).toEqual(['UPSTREAM_TOTAL_TIMEOUT_MS: 1000 is below UPSTREAM_TIMEOUT_MS (2000); expected ≥ it']);
  });

  it('refuses MANAGEMENT_PORT equal to PORT', () => {
    expect(problemsOf({ PORT: '9000', MANAGEMENT_PORT: '9000' })).toEqual([
      'MANAGEMENT_PORT: 9000 is the same as PORT; expected another port, or unset it',
    ]);
    expect(loadEnv({ PORT: '9000', MANAGEMENT_PORT: '9001' }).managementPort).toBe(9001);
  });
});

describe('TRUST_PROXY', () => {
  it('takes only the words true/false as booleans', () => {
    expect(loadEnv({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadEnv({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
  });

  it('takes digits as a hop count, not a boolean', () => {
    expect(loadEnv({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadEnv({ TRUST_PROXY: '0' }).trustProxy).toBe(0);
    expect(loadEnv({ TRUST_PROXY: '3' }).trustProxy).toBe(3);
  });

  it('takes a comma list of addresses, CIDRs and the named ranges', () => {
    expect(loadEnv({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.1,::1,fd00::/8,loopback' }).trustProxy).toEqual([
      '10.0.0.0/8',
      '192.168.1.1',
      '::1',
      'fd00::/8',
      'loopback',
    ]);
    expect(loadEnv({ TRUST_PROXY: 'linklocal,uniquelocal' }).trustProxy).toEqual(['linklocal', 'uniquelocal']);
  });

  it.each(['yes', '10.0.0.0/33', '::1/129', '10.0.0.0/8/1', 'example.com', '1.2.3', ',', '10.0.0.0/x'])(
    'refuses %j',
    (raw) => {
      const problems = problemsOf({ TRUST_PROXY: raw });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^TRUST_PROXY: .* is not a trust-proxy value; expected true, false, a hop count/);
    },
  );
});

describe('RETRY_ON', () => {
  it('parses words and statuses, dropping duplicates', () => {
    expect(loadEnv({ RETRY_ON: 'timeout, 503,503,connect-failure,429,408,500' }).defaults.retry.retryOn).toEqual([
      'timeout',
      503,
      'connect-failure',
      429,
      408,
      500,
    ]);
  });

  it('lists every bad item, one line each', () => {
    expect(problemsOf({ RETRY_ON: 'timeout,404,reset,5xx' })).toEqual([
      'RETRY_ON: "404" is not a retry outcome; expected a comma list of connect-failure, timeout, or a status 500–599, 408 or 429',
      'RETRY_ON: "reset" is not a retry outcome; expected a comma list of connect-failure, timeout, or a status 500–599, 408 or 429',
      'RETRY_ON: "5xx" is not a retry outcome; expected a comma list of connect-failure, timeout, or a status 500–599, 408 or 429',
    ]);
  });
});

describe('secrets never appear in messages', () => {
  const KEY = 'sup3r-s3cret-key-value';

  it.each([
    ['no colon', `alice${KEY}`],
    ['short key', 'alice:short'],
    ['bad name', `al ice:${KEY}`],
    ['empty name', `:${KEY}`],
    ['second entry bad', `alice:${KEY},bob${KEY}`],
  ])('API_KEYS malformed (%s)', (_why, raw) => {
    const problems = problemsOf({ API_KEYS: raw });
    expect(problems.length).toBeGreaterThan(0);
    for (const line of problems) {
      expect(line.startsWith('API_KEYS: ')).toBe(true);
      expect(line).not.toContain(KEY);
      expect(line).not.toContain('short');
    }
  });

  it('API_KEYS names the entry, not the key', () => {
    expect(problemsOf({ API_KEYS: `alice:${KEY},bob-no-key` })).toEqual([
      'API_KEYS: entry 2 is malformed (value not shown); expected name:key with name [A-Za-z0-9._-] and a key of at least 8 characters',
    ]);
    expect(problemsOf({ API_KEYS: `alice:${KEY},alice:${KEY}x` })).toEqual([
      'API_KEYS: key name "alice" appears twice; names must be unique',
    ]);
  });

  it('API_KEYS parses name:key pairs (a key may hold colons)', () => {
    expect(loadEnv({ API_KEYS: `alice:${KEY}, bob:a:b:c:d:e:f:g` }).apiKeys.inline).toEqual([
      { name: 'alice', key: KEY },
      { name: 'bob', key: 'a:b:c:d:e:f:g' },
    ]);
  });

  it.each([
    ['http scheme', 'http://:hunter2-pass@127.0.0.1:6379'],
    ['no host', 'redis://:hunter2-pass@'],
    ['garbage', 'hunter2-pass'],
    ['one bad seed', 'redis://127.0.0.1:7000,redis//:hunter2-pass@x'],
  ])('REDIS_URL bad (%s)', (_why, raw) => {
    const problems = problemsOf({ REDIS_URL: raw });
    expect(problems).toEqual([
      'REDIS_URL: is not a valid Redis URL (value not shown); expected redis://[:password@]host:port[/db] or rediss://…',
    ]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('REDIS_URL accepts redis://, rediss:// and a seed list', () => {
    expect(loadEnv({ REDIS_URL: 'redis://:pw@127.0.0.1:6379/2' }).redis.url).toBe('redis://:pw@127.0.0.1:6379/2');
    expect(loadEnv({ REDIS_URL: 'rediss://h:6380' }).redis.url).toBe('rediss://h:6380');
    expect(loadEnv({ REDIS_URL: 'redis://a:1, redis://b:2', REDIS_CLUSTER: 'true' }).redis).toMatchObject({
      url: 'redis://a:1,redis://b:2',
      cluster: true,
    });
  });

  it('ADMIN_API_KEY too short is not echoed', () => {
    const problems = problemsOf({ ADMIN_API_KEY: 'tiny7' });
    expect(problems).toEqual(['ADMIN_API_KEY: is too short (value not shown); expected at least 8 characters']);
  });
});

describe('other forms', () => {
  it('UPSTREAM_URL must be an http(s) URL without credentials', () => {
    expect(loadEnv({ UPSTREAM_URL: 'http://127.0.0.1:9000/base' }).upstreamUrl).toBe('http://127.0.0.1:9000/base');
    for (const raw of ['ftp://x', 'not a url', 'http://u:p@h:1', 'http://h:1/?q=1']) {
      const problems = problemsOf({ UPSTREAM_URL: raw });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^UPSTREAM_URL: .*expected http\(s\):\/\/host:port\[\/base-path\]$/);
    }
  });

  it('LOG_LEVEL is one of pino levels', () => {
    expect(loadEnv({ LOG_LEVEL: 'DEBUG' }).logLevel).toBe('debug');
    expect(problemsOf({ LOG_LEVEL: 'verbose' })).toEqual([
      'LOG_LEVEL: "verbose" is not a log level; expected one of fatal, error, warn, info, debug, trace, silent',
    ]);
  });

  it('GATEWAY_CONFIG set is explicit', () => {
    expect(loadEnv({ GATEWAY_CONFIG: '/etc/bw/routes.yaml' }).gatewayConfig).toEqual({
      path: '/etc/bw/routes.yaml',
      explicit: true,
    });
    expect(problemsOf({ GATEWAY_CONFIG: '  ' })).toEqual(['GATEWAY_CONFIG: is empty; unset it or give a value']);
  });

  it('REDIS_CLUSTER needs REDIS_URL', () => {
    expect(problemsOf({ REDIS_CLUSTER: 'true' })).toEqual([
      'REDIS_CLUSTER: is true but REDIS_URL is not set; expected seed nodes in REDIS_URL',
    ]);
  });

  describe('files', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'bw-env-spec-'));
      writeFileSync(join(dir, 'cert.pem'), 'x');
      writeFileSync(join(dir, 'key.pem'), 'x');
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('TLS needs both files, and they must be readable', () => {
      const cert = join(dir, 'cert.pem');
      const key = join(dir, 'key.pem');
      expect(loadEnv({ TLS_CERT_FILE: cert, TLS_KEY_FILE: key }).tls).toEqual({
        certFile: cert,
        keyFile: key,
      });
      expect(problemsOf({ TLS_CERT_FILE: cert })).toEqual(['TLS_KEY_FILE: is required when TLS_CERT_FILE is set']);
      expect(problemsOf({ TLS_KEY_FILE: key })).toEqual(['TLS_CERT_FILE: is required when TLS_KEY_FILE is set']);
      const missing = join(dir, 'nope.pem');
      expect(problemsOf({ TLS_CERT_FILE: missing, TLS_KEY_FILE: key })).toEqual([
        `TLS_CERT_FILE: "${missing}": file does not exist; expected a readable file`,
      ]);
      expect(problemsOf({ API_KEYS_FILE: missing })).toEqual([
        `API_KEYS_FILE: "${missing}": file does not exist; expected a readable file`,
      ]);
    });
  });
});

describe('loadEnv reports every problem', () => {
  it('one line per problem, each naming its variable', () => {
    const problems = problemsOf({
      PORT: 'x',
      BREAKER_FAILURE_THRESHOLD: 'abc',
      RATE_LIMIT_ENABLED: 'maybe',
      TRUST_PROXY: 'nope',
      RETRY_ON: 'sometimes',
      LOG_LEVEL: 'loud',
      REDIS_URL: 'http://:pw@x',
    });
    expect(problems).toHaveLength(7);
    const names = problems.map((line) => line.slice(0, line.indexOf(':')));
    expect(names.sort()).toEqual(
      [
        'BREAKER_FAILURE_THRESHOLD',
        'LOG_LEVEL',
        'PORT',
        'RATE_LIMIT_ENABLED',
        'REDIS_URL',
        'RETRY_ON',
        'TRUST_PROXY',
      ].sort(),
    );
    for (const line of problems) expect(line).not.toContain('\n');
  });

  it('BREAKER_FAILURE_THRESHOLD=abc: exactly one line naming it', () => {
    expect(problemsOf({ BREAKER_FAILURE_THRESHOLD: 'abc' })).toEqual([
      'BREAKER_FAILURE_THRESHOLD: "abc" is not an integer; expected an integer ≥ 1 and ≤ 1000',
    ]);
  });

  it('a ConfigError message is the problems, one per line', () => {
    try {
      loadEnv({ PORT: 'x', LOG_LEVEL: 'y' });
      throw new Error('should have thrown');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).message.split('\n')).toEqual((err as ConfigError).problems);
    }
  });
});
