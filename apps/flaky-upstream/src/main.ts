// flaky-upstream entry point: env → server → listen; graceful stop on SIGTERM/SIGINT (a second signal exits at once).
// A separate demo program, so it reads its few variables itself rather than through libs/config (the gateway's).
import { validateHeaderValue } from 'node:http';
import { type ChaosSettings, checkDelayMs, checkRate, checkRateSum, DEFAULT_CHAOS, MAX_DELAY_MS } from './chaos.js';
import { createFlakyServer } from './flaky-server.js';

interface FlakyEnv {
  port: number;
  host: string;
  instanceId?: string;
  chaos: ChaosSettings;
  seed?: number;
}

/** Parses and validates the environment; returns one message per problem, each naming its variable. */
function readEnv(env: NodeJS.ProcessEnv): { ok: true; config: FlakyEnv } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const problem = (name: string, what: string): void => {
    problems.push(`${name}=${JSON.stringify(env[name])}: ${what}`);
  };
  const number = (name: string, fallback: number, check: (n: number) => string | undefined): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw.trim());
    const error = raw.trim() === '' || Number.isNaN(n) ? 'not a number' : check(n);
    if (error) problem(name, error);
    return n;
  };

  const port = number('PORT', 8001, (n) =>
    Number.isInteger(n) && n >= 0 && n <= 65535 ? undefined : 'expected an integer port from 0 to 65535',
  );
  const host = env.HOST === undefined || env.HOST === '' ? '0.0.0.0' : env.HOST;
  let instanceId: string | undefined;
  if (env.INSTANCE_ID !== undefined && env.INSTANCE_ID !== '') {
    try {
      validateHeaderValue('X-Instance-Id', env.INSTANCE_ID);
      instanceId = env.INSTANCE_ID;
    } catch {
      problem('INSTANCE_ID', 'not a valid header value; expected printable text without line breaks');
    }
  }
  const failureRate = number('FLAKY_FAILURE_RATE', DEFAULT_CHAOS.failureRate, (n) =>
    checkRate(n) ? 'expected a number from 0 to 1' : undefined,
  );
  const delayRate = number('FLAKY_DELAY_RATE', DEFAULT_CHAOS.delayRate, (n) =>
    checkRate(n) ? 'expected a number from 0 to 1' : undefined,
  );
  const delayMs = number('FLAKY_DELAY_MS', DEFAULT_CHAOS.delayMs, (n) =>
    checkDelayMs(n) ? `expected an integer number of ms from 0 to ${MAX_DELAY_MS}` : undefined,
  );
  let seed: number | undefined;
  if (env.FLAKY_SEED !== undefined && env.FLAKY_SEED !== '') {
    if (/^\d{1,10}$/.test(env.FLAKY_SEED.trim()) && Number(env.FLAKY_SEED) <= 0xffffffff) seed = Number(env.FLAKY_SEED);
    else problem('FLAKY_SEED', 'expected an integer from 0 to 4294967295');
  }
  if (problems.length === 0) {
    if (checkRateSum(failureRate, delayRate)) {
      problems.push(
        `FLAKY_FAILURE_RATE + FLAKY_DELAY_RATE = ${failureRate} + ${delayRate}: expected a sum of at most 1`,
      );
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    config: { port, host, instanceId, seed, chaos: { failureRate, delayRate, delayMs, down: false } },
  };
}

const parsed = readEnv(process.env);
if (!parsed.ok) {
  for (const line of parsed.problems) process.stderr.write(`flaky-upstream: ${line}\n`);
  process.exit(1);
}
const { port, host, instanceId, seed, chaos } = parsed.config;
const flaky = createFlakyServer({ instanceId, seed, chaos });

flaky.server.on('error', (err: NodeJS.ErrnoException) => {
  process.stderr.write(`flaky-upstream: cannot listen on ${host}:${port}: ${err.code ?? err.message}\n`);
  process.exit(1);
});
flaky.server.listen(port, host, () => {
  const address = flaky.server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  const id = instanceId ?? `flaky-${bound}`;
  process.stdout.write(
    `flaky-upstream ${id} listening on http://${host}:${bound} ` +
      `(failureRate ${chaos.failureRate}, delayRate ${chaos.delayRate}, delayMs ${chaos.delayMs}, ` +
      `seed ${seed ?? 'random'})\n`,
  );
});

let stopping = false;
const onSignal = (signal: NodeJS.Signals): void => {
  if (stopping) {
    process.stderr.write(`flaky-upstream: ${signal} again, exiting now\n`);
    process.exit(1);
  }
  stopping = true;
  process.stdout.write(`flaky-upstream: ${signal}, finishing in-flight requests\n`);
  flaky.close().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`flaky-upstream: close failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);
