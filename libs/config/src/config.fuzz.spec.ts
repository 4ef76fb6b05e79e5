import fc from 'fast-check';
import { stringify } from 'yaml';
import { loadEnv, parseRoutes } from './load-config.js';
import { ConfigError } from './problems.js';
import { ENV_VARIABLE_NAMES } from './env.schema.js';

/*
 * Property tests (issue 11): random input never crashes the config code. It is accepted, or
 * refused with a ConfigError whose every line names a variable or a YAML path.
 */

const env = loadEnv({});

/** JSON-ish values, biased towards the shapes of the routes file. */
const leaf = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer({ min: -5, max: 100_000 }),
  fc.double({ noNaN: false }),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(
    'http://127.0.0.1:8001',
    'https://h:1/base',
    'ftp://x',
    '/api',
    '/health/x',
    'required',
    'none',
    'timeout',
    'connect-failure',
    '503',
  ),
);
const key = fc.constantFrom(
  'services',
  'routes',
  'instances',
  'timeoutMs',
  'totalTimeoutMs',
  'retry',
  'maxRetries',
  'retryOn',
  'budget',
  'ratio',
  'circuitBreaker',
  'failureThreshold',
  'rateLimit',
  'capacity',
  'cache',
  'ttlSeconds',
  'auth',
  'path',
  'service',
  'rewrite',
  'flaky',
  'a-b',
  'Bad_Name',
  'typo',
);
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(key, tie('node'), { maxKeys: 5 }),
  ),
})).node;

function expectAcceptedOrProblems(text: string): void {
  try {
    const routes = parseRoutes(text, env, 'fuzz.yaml');
    for (const svc of routes.services.values()) expect(svc.instances.length).toBeGreaterThan(0);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems.length).toBeGreaterThan(0);
    for (const line of problems) expect(typeof line).toBe('string');
  }
}

describe('routes file: random documents never crash the loader', () => {
  it('random structures', () => {
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 4 }), (doc) => expectAcceptedOrProblems(stringify(doc))),
      { numRuns: 400 },
    );
  });

  it('random service definitions under services', () => {
    fc.assert(
      fc.property(fc.dictionary(key, fc.dictionary(key, value, { maxKeys: 6 }), { maxKeys: 3 }), (services) =>
        expectAcceptedOrProblems(stringify({ services })),
      ),
      { numRuns: 400 },
    );
  });

  it('random text (not even YAML)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => expectAcceptedOrProblems(text)),
      { numRuns: 400 },
    );
  });
});

describe('environment: random values never crash, problems name the variable', () => {
  it('random strings for every variable', () => {
    const names = [...ENV_VARIABLE_NAMES].filter((n) => !/FILE$/.test(n) && n !== 'GATEWAY_CONFIG');
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...names), fc.string({ maxLength: 30 }), { maxKeys: 6 }), (vars) => {
        try {
          loadEnv(vars);
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          for (const line of (err as ConfigError).problems) {
            expect(names.some((n) => line.startsWith(`${n}:`))).toBe(true);
            // A secret's value never appears in its problem line.
            for (const secret of ['API_KEYS', 'ADMIN_API_KEY', 'REDIS_URL'] as const) {
              const v = vars[secret];
              if (v && v.length >= 4 && line.startsWith(`${secret}:`)) expect(line).not.toContain(v);
            }
          }
        }
      }),
      { numRuns: 400 },
    );
  });
});
