/**
 * A retry budget over a sliding window (Finagle's RetryBudget, Linkerd's retry budgets): in
 * any `windowSeconds`, retries may be at most `ratio` × requests + `minPerSecond` ×
 * `windowSeconds`. A failing upstream is not hit with a retry storm, while a quiet service
 * still gets its retries. Buckets of one second; per replica and service.
 */
export class RetryBudget {
  private readonly requests: number[];
  private readonly retries: number[];
  private bucketSecond = 0;
  private index = 0;

  constructor(
    private ratio: number,
    private minPerSecond: number,
    private readonly windowSeconds = 10,
    private readonly now: () => number = Date.now,
  ) {
    this.requests = new Array<number>(windowSeconds).fill(0);
    this.retries = new Array<number>(windowSeconds).fill(0);
    this.bucketSecond = Math.floor(this.now() / 1000);
  }

  /** Applies a reloaded policy without losing the window. */
  update(ratio: number, minPerSecond: number): void {
    this.ratio = ratio;
    this.minPerSecond = minPerSecond;
  }

  private advance(): void {
    const second = Math.floor(this.now() / 1000);
    let steps = second - this.bucketSecond;
    if (steps <= 0) return;
    if (steps > this.windowSeconds) steps = this.windowSeconds;
    for (let i = 0; i < steps; i++) {
      this.index = (this.index + 1) % this.windowSeconds;
      this.requests[this.index] = 0;
      this.retries[this.index] = 0;
    }
    this.bucketSecond = second;
  }

  /** Counts one original request. */
  deposit(): void {
    this.advance();
    this.requests[this.index]!++;
  }

  /** Takes one retry from the budget; false when it is spent. */
  tryWithdraw(): boolean {
    this.advance();
    let requests = 0;
    let retries = 0;
    for (let i = 0; i < this.windowSeconds; i++) {
      requests += this.requests[i]!;
      retries += this.retries[i]!;
    }
    if (retries + 1 > this.ratio * requests + this.minPerSecond * this.windowSeconds) return false;
    this.retries[this.index]!++;
    return true;
  }
}
