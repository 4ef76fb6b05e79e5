import { Injectable } from '@nestjs/common';

/**
 * Whether the gateway is draining (SIGTERM received) and how many requests are in flight.
 * Readiness reads it; the middleware counts requests; the bootstrap waits on it.
 */
@Injectable()
export class ShutdownState {
  private drainingSince: number | null = null;
  private inflight = 0;
  private idleWaiters: (() => void)[] = [];

  get draining(): boolean {
    return this.drainingSince !== null;
  }

  get inFlight(): number {
    return this.inflight;
  }

  startDraining(): void {
    this.drainingSince ??= Date.now();
  }

  requestStarted(): void {
    this.inflight++;
  }

  requestEnded(): void {
    this.inflight--;
    if (this.inflight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Resolves true when no request is in flight, false when `timeoutMs` passes first. */
  whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.inflight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
