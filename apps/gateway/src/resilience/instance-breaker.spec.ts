import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { type BreakerPolicy, type InstanceConfig } from '@app/config';
import { GatewayError, UpstreamFailure } from '../common/gateway-error.js';
import { type CircuitStateName } from '../metrics/metrics.service.js';
import { type UpstreamResponse } from '../proxy/proxy-result.js';
import { type BreakerHooks, InstanceBreaker } from './instance-breaker.js';

const INSTANCE: InstanceConfig = {
  id: 'svc/127.0.0.1:9',
  service: 'svc',
  origin: 'http://127.0.0.1:9',
  basePath: '',
  hostPort: '127.0.0.1:9',
};
const RESET_MS = 30;

interface Harness {
  breaker: InstanceBreaker;
  transitions: string[];
  leases: { granted: number; released: number };
}

const created: InstanceBreaker[] = [];
afterEach(() => {
  for (const b of created.splice(0)) b.shutdown();
});

function make(over: Partial<BreakerPolicy> = {}, grantLease: () => boolean = () => true): Harness {
  const policy: BreakerPolicy = {
    failureThreshold: 3,
    resetTimeoutMs: RESET_MS,
    halfOpenMaxRequests: 1,
    successThreshold: 1,
    ...over,
  };
  const transitions: string[] = [];
  const leases = { granted: 0, released: 0 };
  const hooks: BreakerHooks = {
    transition: (_b, from: CircuitStateName, to: CircuitStateName) => transitions.push(`${from}->${to}`),
    acquireTrial: () => {
      const ok = grantLease();
      if (ok) leases.granted++;
      return Promise.resolve(ok);
    },
    releaseTrial: () => void leases.released++,
  };
  const breaker = new InstanceBreaker(INSTANCE, policy, hooks);
  created.push(breaker);
  return { breaker, transitions, leases };
}

function answer(status: number): UpstreamResponse {
  return { status, headers: {}, body: Readable.from([]), instance: INSTANCE };
}

/** A fake `send` that answers `status` and counts its calls. */
function sender(status: number): { send: () => Promise<UpstreamResponse>; calls: () => number } {
  let calls = 0;
  return {
    send: () => {
      calls++;
      return Promise.resolve(answer(status));
    },
    calls: () => calls,
  };
}

/** A `send` the test settles by hand. */
function pending(): {
  send: () => Promise<UpstreamResponse>;
  resolve: (status: number) => void;
  reject: (err: unknown) => void;
} {
  let resolve!: (r: UpstreamResponse) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<UpstreamResponse>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { send: () => promise, resolve: (status) => resolve(answer(status)), reject };
}

const refused = (): Promise<UpstreamResponse> =>
  Promise.reject(new UpstreamFailure('connect-failure', 'refused', INSTANCE.id));
const timedOut = (): Promise<UpstreamResponse> => Promise.reject(new UpstreamFailure('timeout', 'slow', INSTANCE.id));

async function waitForState(b: InstanceBreaker, state: CircuitStateName, timeoutMs = 1000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (b.current !== state) {
    if (Date.now() > end) throw new Error(`breaker stayed ${b.current}, expected ${state}`);
    await sleep(2);
  }
}

async function openIt(h: Harness): Promise<void> {
  while (h.breaker.current === 'closed') await h.breaker.run(sender(503).send);
  expect(h.breaker.current).toBe('open');
}

async function expectCircuitOpen(p: Promise<unknown>): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatewayError);
  expect((err as GatewayError).code).toBe('CIRCUIT_OPEN');
  expect(Number((err as GatewayError).headers['Retry-After'])).toBeGreaterThanOrEqual(1);
}

describe('InstanceBreaker, closed', () => {
  it('opens after exactly failureThreshold consecutive failures (5xx, connect failure, timeout)', async () => {
    const h = make({ failureThreshold: 3 });
    const res = await h.breaker.run(sender(503).send);
    expect(res.status).toBe(503); // the upstream's answer is still returned
    await expect(h.breaker.run(refused)).rejects.toBeInstanceOf(UpstreamFailure);
    expect(h.breaker.current).toBe('closed');
    expect(h.breaker.failures).toBe(2);
    await expect(h.breaker.run(timedOut)).rejects.toBeInstanceOf(UpstreamFailure);
    expect(h.breaker.current).toBe('open');
    expect(h.transitions).toEqual(['closed->open']);
    expect(h.breaker.nextTrialAt).toBeGreaterThan(Date.now());
  });

  it('a success in between resets the count', async () => {
    const h = make({ failureThreshold: 3 });
    await h.breaker.run(sender(500).send);
    await h.breaker.run(sender(502).send);
    await h.breaker.run(sender(200).send);
    expect(h.breaker.failures).toBe(0);
    await h.breaker.run(sender(500).send);
    await h.breaker.run(sender(500).send);
    expect(h.breaker.current).toBe('closed');
    await h.breaker.run(sender(500).send);
    expect(h.breaker.current).toBe('open');
  });

  it('counts 4xx as success', async () => {
    const h = make({ failureThreshold: 2 });
    for (let i = 0; i < 20; i++) expect((await h.breaker.run(sender(404).send)).status).toBe(404);
    await h.breaker.run(sender(500).send);
    await h.breaker.run(sender(429).send); // resets the count like a 200
    await h.breaker.run(sender(500).send);
    expect(h.breaker.current).toBe('closed');
    expect(h.transitions).toEqual([]);
  });

  it('does not count errors that are not the upstream’s (e.g. the client left)', async () => {
    const h = make({ failureThreshold: 1 });
    const gone = new Error('client disconnected');
    await expect(h.breaker.run(() => Promise.reject(gone))).rejects.toBe(gone);
    expect(h.breaker.current).toBe('closed');
  });
});

describe('InstanceBreaker, open', () => {
  it('fails fast without calling send, with Retry-After', async () => {
    const h = make({ failureThreshold: 1, resetTimeoutMs: 5000 });
    await openIt(h);
    const probe = sender(200);
    await expectCircuitOpen(h.breaker.run(probe.send));
    expect(probe.calls()).toBe(0);
    expect(h.breaker.available()).toBe(false);
    expect(h.breaker.secondsToTrial()).toBe(5);
  });

  it('goes half-open after resetTimeoutMs', async () => {
    const h = make({ failureThreshold: 1 });
    await openIt(h);
    const opened = Date.now();
    await waitForState(h.breaker, 'half_open');
    expect(Date.now() - opened).toBeGreaterThanOrEqual(RESET_MS - 2);
    expect(h.breaker.available()).toBe(true);
    expect(h.transitions).toEqual(['closed->open', 'open->half_open']);
  });
});

describe('InstanceBreaker, half-open', () => {
  it('lets exactly halfOpenMaxRequests trials run at once', async () => {
    const h = make({ failureThreshold: 1, halfOpenMaxRequests: 2, successThreshold: 2 });
    await openIt(h);
    await waitForState(h.breaker, 'half_open');
    const t1 = pending();
    const t2 = pending();
    const r1 = h.breaker.run(t1.send);
    const r2 = h.breaker.run(t2.send);
    expect(h.breaker.available()).toBe(false);
    const third = sender(200);
    await expectCircuitOpen(h.breaker.run(third.send));
    expect(third.calls()).toBe(0);
    t1.resolve(200);
    expect((await r1).status).toBe(200);
    expect(h.breaker.current).toBe('half_open'); // 1 of 2 successes
    expect(h.breaker.available()).toBe(true); // a slot is free again
    t2.resolve(200);
    await r2;
    expect(h.breaker.current).toBe('closed');
    expect(h.leases).toEqual({ granted: 2, released: 2 });
  });

  it('closes after successThreshold trial successes, one at a time', async () => {
    const h = make({ failureThreshold: 1, successThreshold: 3 });
    await openIt(h);
    await waitForState(h.breaker, 'half_open');
    await h.breaker.run(sender(200).send);
    await h.breaker.run(sender(404).send); // 4xx: a success
    expect(h.breaker.current).toBe('half_open');
    await h.breaker.run(sender(200).send);
    expect(h.breaker.current).toBe('closed');
    expect(h.breaker.failures).toBe(0);
    expect(h.transitions).toEqual(['closed->open', 'open->half_open', 'half_open->closed']);
  });

  it('re-opens on one failed trial (5xx or connect failure), and waits resetTimeoutMs again', async () => {
    const h = make({ failureThreshold: 1, successThreshold: 2 });
    await openIt(h);
    await waitForState(h.breaker, 'half_open');
    await h.breaker.run(sender(200).send);
    const res = await h.breaker.run(sender(503).send);
    expect(res.status).toBe(503);
    expect(h.breaker.current).toBe('open');
    expect(h.breaker.nextTrialAt).toBeGreaterThan(Date.now());
    await waitForState(h.breaker, 'half_open');
    // The earlier success does not carry over: two fresh ones are needed.
    await expect(h.breaker.run(refused)).rejects.toBeInstanceOf(UpstreamFailure);
    expect(h.breaker.current).toBe('open');
    await waitForState(h.breaker, 'half_open');
    await h.breaker.run(sender(200).send);
    expect(h.breaker.current).toBe('half_open');
    await h.breaker.run(sender(200).send);
    expect(h.breaker.current).toBe('closed');
    expect(h.transitions).toEqual([
      'closed->open',
      'open->half_open',
      'half_open->open',
      'open->half_open',
      'half_open->open',
      'open->half_open',
      'half_open->closed',
    ]);
  });

  it('a trial that ends without the upstream’s verdict frees its slot and changes nothing', async () => {
    const h = make({ failureThreshold: 1 });
    await openIt(h);
    await waitForState(h.breaker, 'half_open');
    await expect(h.breaker.run(() => Promise.reject(new Error('client left')))).rejects.toThrow('client left');
    expect(h.breaker.current).toBe('half_open');
    expect(h.breaker.available()).toBe(true);
    expect(h.leases).toEqual({ granted: 1, released: 1 });
  });

  it('sends nothing when the fleet refuses the trial lease', async () => {
    const h = make({ failureThreshold: 1 }, () => false);
    await openIt(h);
    await waitForState(h.breaker, 'half_open');
    const probe = sender(200);
    await expectCircuitOpen(h.breaker.run(probe.send));
    expect(probe.calls()).toBe(0);
    expect(h.breaker.current).toBe('half_open');
    expect(h.leases.released).toBe(0);
  });

  it('a try started while closed that succeeds during half-open does not close it (successThreshold holds)', async () => {
    const h = make({ failureThreshold: 2, successThreshold: 2 });
    const late = pending();
    const lateRun = h.breaker.run(late.send);
    await openIt(h);
    await waitForState(h.breaker, 'half_open');
    late.resolve(200);
    expect((await lateRun).status).toBe(200);
    expect(h.breaker.current).toBe('half_open');
    await h.breaker.run(sender(200).send);
    expect(h.breaker.current).toBe('half_open');
    await h.breaker.run(sender(200).send);
    expect(h.breaker.current).toBe('closed');
  });

  it('a try started while closed that fails during half-open does not re-open it (only trials decide)', async () => {
    const h = make({ failureThreshold: 2, successThreshold: 1 });
    const late = pending();
    const lateRun = h.breaker.run(late.send);
    await openIt(h);
    await waitForState(h.breaker, 'half_open');
    late.reject(new UpstreamFailure('timeout', 'slow', INSTANCE.id));
    await expect(lateRun).rejects.toBeInstanceOf(UpstreamFailure);
    expect(h.breaker.current).toBe('half_open');
    await h.breaker.run(sender(200).send);
    expect(h.breaker.current).toBe('closed');
  });
});

describe('InstanceBreaker, forced', () => {
  it('forceClose closes and clears the count; forceOpen keeps the fleet’s trial time', async () => {
    const h = make({ failureThreshold: 3, resetTimeoutMs: 5000 });
    await h.breaker.run(sender(500).send);
    h.breaker.forceClose();
    expect(h.breaker.failures).toBe(0);
    const at = Date.now() + 2500;
    h.breaker.forceOpen(at);
    expect(h.breaker.current).toBe('open');
    expect(h.breaker.nextTrialAt).toBe(at);
    expect(h.breaker.secondsToTrial()).toBe(3);
    h.breaker.forceClose();
    expect(h.breaker.current).toBe('closed');
    expect((await h.breaker.run(sender(200).send)).status).toBe(200);
    expect(h.transitions).toEqual(['closed->open', 'open->closed']);
  });
});

describe('a body that fails after the headers', () => {
  it('counts as a failure: consecutive late failures open the circuit', async () => {
    const h = make({ failureThreshold: 2 });
    const first = await h.breaker.run(sender(200).send);
    h.breaker.recordLateFailure(first.body);
    expect(h.breaker.current).toBe('closed');
    expect(h.breaker.failures).toBe(1);
    // The next answer's headers reset the count, but its body fails too: the reset is undone.
    const second = await h.breaker.run(sender(200).send);
    expect(h.breaker.failures).toBe(0);
    h.breaker.recordLateFailure(second.body);
    expect(h.breaker.current).toBe('open');
    expect(h.transitions).toEqual(['closed->open']);
  });
});
