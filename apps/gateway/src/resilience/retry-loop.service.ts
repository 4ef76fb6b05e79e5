import { Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { type GatewayRequest } from '../common/request-context.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { discardBody, type UpstreamResponse } from '../proxy/proxy-result.js';
import { IDEMPOTENT } from '../proxy/proxy.service.js';
import { BreakerRegistry } from './breaker-registry.service.js';
import { RetryBudgets } from './retry-budgets.service.js';
import { nextDelayMs, retryReason } from './retry.policy.js';

type Outcome = { response: UpstreamResponse } | { error: unknown };

/** One try of the request (the controller's handler). */
export type TryOnce = () => Promise<UpstreamResponse>;

/**
 * The retry loop around the forwarding call (the handler is one try): idempotent methods
 * only, `retryOn` outcomes only, exponential backoff with full jitter, never past the total
 * deadline, within the service's retry budget, each retry preferring another instance. A
 * discarded answer is drained, never sent: nothing reaches the client until a try is final.
 */
@Injectable()
export class RetryLoop {
  constructor(
    private readonly budgets: RetryBudgets,
    private readonly metrics: MetricsService,
    private readonly breakers: BreakerRegistry,
  ) {}

  /** Runs `tryOnce` until a try is final (see the class comment); resolves the answer to send. */
  async run(req: GatewayRequest, tryOnce: TryOnce): Promise<UpstreamResponse> {
    const ctx = req.bw;
    const service = ctx.target!.service;
    const policy = service.retry;
    const budget = this.budgets.for(service);
    budget.deposit();
    const mayRetry = policy.maxRetries > 0 && IDEMPOTENT.has(req.method ?? '');

    for (let attempt = 0; ; attempt++) {
      let outcome: Outcome;
      try {
        outcome = { response: await tryOnce() };
      } catch (error) {
        outcome = { error };
      }
      const reason = mayRetry && attempt < policy.maxRetries ? retryReason(outcome, policy.retryOn) : null;
      if (reason === null || !this.replayable(req) || ctx.gone) return settle(outcome);
      // Every circuit open now: a retry would only fail fast; the last real try answers.
      if (!this.breakers.anyUsable(service)) return settle(outcome);

      const delay = nextDelayMs(
        policy,
        attempt,
        'response' in outcome ? outcome.response.headers['retry-after'] : undefined,
      );
      // A retry that cannot finish before the deadline is not worth starting.
      if (Date.now() + delay >= ctx.exchange!.deadline) return settle(outcome);
      if (!budget.tryWithdraw()) {
        this.metrics.recordRetryBudgetExhausted(service.name);
        return settle(outcome);
      }
      if ('response' in outcome) discardBody(outcome.response);
      this.metrics.recordRetry(service.name, reason);
      ctx.retries++;
      if (delay > 0) {
        try {
          await sleep(delay, undefined, { signal: ctx.clientGone });
        } catch {
          return settle(outcome);
        }
      }
    }
  }

  private replayable(req: GatewayRequest): boolean {
    const body = req.bw.exchange?.body;
    return body === undefined || body.kind !== 'stream' || !body.consumed;
  }
}

function settle(outcome: Outcome): UpstreamResponse {
  if ('response' in outcome) return outcome.response;
  throw outcome.error;
}
