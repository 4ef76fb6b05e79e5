/**
 * Collapses concurrent cache misses for one key into one upstream call: the first request
 * leads, the others wait for what it settles (the entry it stored, or null when its answer
 * was not storable, failed or was too large: they then go upstream themselves). Per replica.
 */
export class RequestCoalescer<T> {
  private readonly inflight = new Map<string, Promise<T | null>>();

  /** The pending result of the leader for `key`, if there is one. */
  pending(key: string): Promise<T | null> | undefined {
    return this.inflight.get(key);
  }

  /**
   * Registers the caller as the leader for `key` and returns its settle function (idempotent;
   * must be called on every path, which also removes the key).
   */
  lead(key: string): (value: T | null) => void {
    let resolve!: (value: T | null) => void;
    const promise = new Promise<T | null>((r) => (resolve = r));
    this.inflight.set(key, promise);
    let settled = false;
    return (value) => {
      if (settled) return;
      settled = true;
      if (this.inflight.get(key) === promise) this.inflight.delete(key);
      resolve(value);
    };
  }

  /** Leaders in flight (tests, leak checks). */
  get size(): number {
    return this.inflight.size;
  }
}

/**
 * Waits for `promise` but gives up (null) after `timeoutMs` or when `signal` aborts, so a
 * follower never waits longer than its own request may take.
 */
export function waitAtMost<T>(promise: Promise<T | null>, timeoutMs: number, signal: AbortSignal): Promise<T | null> {
  if (signal.aborted) return Promise.resolve(null);
  return new Promise<T | null>((resolve) => {
    const finish = (value: T | null): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(value);
    };
    const onAbort = (): void => finish(null);
    const timer = setTimeout(() => finish(null), timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(finish, () => finish(null));
  });
}
