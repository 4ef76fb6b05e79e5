import { Readable } from 'node:stream';
import { type RetryOutcome, type RetryPolicy } from '@app/config';
import { GatewayError, UpstreamFailure } from '../common/gateway-error.js';
import { type UpstreamResponse } from '../proxy/proxy-result.js';
import { backoffMs, nextDelayMs, retryAfterMs, retryReason } from './retry.policy.js';

const DEFAULT_ON: RetryOutcome[] = ['connect-failure', 'timeout', 502, 503, 504];

function policy(over: Partial<RetryPolicy> = {}): RetryPolicy {
  return {
    maxRetries: 2,
    initialBackoffMs: 100,
    multiplier: 2,
    maxBackoffMs: 2000,
    retryOn: DEFAULT_ON,
    budget: { ratio: 0.2, minPerSecond: 10 },
    ...over,
  };
}

function response(status: number, headers: UpstreamResponse['headers'] = {}): { response: UpstreamResponse } {
  return { response: { status, headers, body: Readable.from([]), instance: null } };
}

describe('retryReason', () => {
  it('names the retried statuses http_<code>, and nothing else', () => {
    expect(retryReason(response(502), DEFAULT_ON)).toBe('http_502');
    expect(retryReason(response(503), DEFAULT_ON)).toBe('http_503');
    expect(retryReason(response(504), DEFAULT_ON)).toBe('http_504');
    for (const status of [200, 204, 301, 400, 404, 408, 429, 500, 501]) {
      expect(retryReason(response(status), DEFAULT_ON)).toBeNull();
    }
  });

  it('follows retryOn: 500, 408 and 429 when listed, 503 not when left out', () => {
    const on: RetryOutcome[] = [500, 408, 429];
    expect(retryReason(response(500), on)).toBe('http_500');
    expect(retryReason(response(408), on)).toBe('http_408');
    expect(retryReason(response(429), on)).toBe('http_429');
    expect(retryReason(response(503), on)).toBeNull();
  });

  it('names connect failures and timeouts only when retryOn has them', () => {
    const refused = { error: new UpstreamFailure('connect-failure', 'refused', 'svc/h:1') };
    const timedOut = { error: new UpstreamFailure('timeout', 'slow', 'svc/h:1') };
    expect(retryReason(refused, DEFAULT_ON)).toBe('connect_failure');
    expect(retryReason(timedOut, DEFAULT_ON)).toBe('timeout');
    expect(retryReason(refused, ['timeout'])).toBeNull();
    expect(retryReason(timedOut, ['connect-failure'])).toBeNull();
  });

  it('never retries the gateway’s own errors or unknown ones', () => {
    expect(retryReason({ error: new GatewayError('CIRCUIT_OPEN', 'open') }, DEFAULT_ON)).toBeNull();
    expect(retryReason({ error: new GatewayError('PAYLOAD_TOO_LARGE', 'big') }, DEFAULT_ON)).toBeNull();
    expect(retryReason({ error: new Error('boom') }, DEFAULT_ON)).toBeNull();
  });
});

describe('backoffMs (full jitter)', () => {
  it('stays in [0, min(cap, base·mult^n)] for draws at both ends and between', () => {
    const p = policy({ initialBackoffMs: 100, multiplier: 2, maxBackoffMs: 1000 });
    const almostOne = 1 - Number.EPSILON;
    for (let n = 0; n < 8; n++) {
      const ceiling = Math.min(1000, 100 * 2 ** n);
      expect(backoffMs(p, n, () => 0)).toBe(0);
      const top = backoffMs(p, n, () => almostOne);
      expect(top).toBeLessThanOrEqual(ceiling);
      expect(top).toBeGreaterThanOrEqual(ceiling - 1);
      expect(backoffMs(p, n, () => 0.5)).toBe(Math.floor(ceiling / 2));
    }
  });

  it('is capped by maxBackoffMs however many attempts', () => {
    const p = policy({ initialBackoffMs: 100, multiplier: 10, maxBackoffMs: 250 });
    expect(backoffMs(p, 5, () => 0.999)).toBeLessThanOrEqual(250);
    expect(backoffMs(p, 5, () => 0.999)).toBeGreaterThan(240);
  });

  it('covers the whole range with Math.random (no fixed floor)', () => {
    const p = policy({ initialBackoffMs: 100, multiplier: 2, maxBackoffMs: 2000 });
    const draws = Array.from({ length: 2000 }, () => backoffMs(p, 2));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThanOrEqual(400);
    expect(Math.min(...draws)).toBeLessThan(40);
    expect(Math.max(...draws)).toBeGreaterThan(360);
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it('reads delta-seconds', () => {
    expect(retryAfterMs('1', now)).toBe(1000);
    expect(retryAfterMs(' 30 ', now)).toBe(30_000);
    expect(retryAfterMs('0', now)).toBe(0);
    expect(retryAfterMs(['2', '9'], now)).toBe(2000);
  });

  it('reads an HTTP-date, never negative', () => {
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0);
  });

  it('is null when absent or not a valid value', () => {
    expect(retryAfterMs(undefined, now)).toBeNull();
    expect(retryAfterMs('', now)).toBeNull();
    expect(retryAfterMs('soon', now)).toBeNull();
    expect(retryAfterMs('-5', now)).toBeNull();
  });
});

describe('nextDelayMs', () => {
  it('is the jittered backoff without Retry-After', () => {
    expect(nextDelayMs(policy(), 1, undefined, () => 0.5)).toBe(100);
  });

  it('honours Retry-After, at least the jittered backoff', () => {
    const p = policy({ maxBackoffMs: 5000 });
    expect(nextDelayMs(p, 0, '1', () => 0)).toBe(1000);
    expect(nextDelayMs(p, 0, '0', () => 0.5)).toBe(50);
  });

  it('caps Retry-After at maxBackoffMs', () => {
    const p = policy({ maxBackoffMs: 300 });
    expect(nextDelayMs(p, 0, '60', () => 0)).toBe(300);
    const inAnHour = new Date(Date.now() + 3_600_000).toUTCString();
    expect(nextDelayMs(p, 0, inAnHour, () => 0)).toBe(300);
  });
});
