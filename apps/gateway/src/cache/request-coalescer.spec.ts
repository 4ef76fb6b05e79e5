import { RequestCoalescer, waitAtMost } from './request-coalescer.js';

describe('RequestCoalescer', () => {
  it('lets one leader per key settle its followers once, then forgets the key', async () => {
    const c = new RequestCoalescer<string>();
    expect(c.pending('k')).toBeUndefined();
    const settle = c.lead('k');
    const followers = [c.pending('k')!, c.pending('k')!];
    expect(c.size).toBe(1);
    settle('entry');
    settle('again'); // idempotent
    expect(await Promise.all(followers)).toEqual(['entry', 'entry']);
    expect(c.pending('k')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('a null settle sends followers upstream on their own', async () => {
    const c = new RequestCoalescer<string>();
    const settle = c.lead('k');
    const f = c.pending('k')!;
    settle(null);
    expect(await f).toBeNull();
  });
});

describe('waitAtMost', () => {
  it('resolves the value, or null after the timeout or on abort', async () => {
    const never = new Promise<string | null>(() => undefined);
    expect(await waitAtMost(Promise.resolve('v'), 1000, new AbortController().signal)).toBe('v');
    expect(await waitAtMost(never, 5, new AbortController().signal)).toBeNull();
    const ac = new AbortController();
    const waiting = waitAtMost(never, 10_000, ac.signal);
    ac.abort();
    expect(await waiting).toBeNull();
    expect(await waitAtMost(Promise.reject(new Error('x')), 1000, new AbortController().signal)).toBeNull();
  });
});
