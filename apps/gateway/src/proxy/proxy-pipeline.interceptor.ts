import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { type ServerResponse } from 'node:http';
import { from, lastValueFrom, type Observable } from 'rxjs';
import { ResponseCache } from '../cache/response-cache.service.js';
import { type GatewayRequest } from '../common/request-context.js';
import { RetryLoop } from '../resilience/retry-loop.service.js';
import { type UpstreamResponse } from './proxy-result.js';
import { writeUpstreamResponse } from './response-writer.js';

/**
 * The interceptor around the forwarding call (the handler is one try). From the outside in:
 * the response cache (HIT ends here, STALE stands in for a failure), the retry loop (budget,
 * backoff, deadline; each try goes through the instance's circuit breaker), and finally the
 * writer, which commits the one final answer to the client.
 *
 * One Nest interceptor applies all three: each Nest interceptor layer costs an async resource
 * and an rxjs chain per request, measurable on the hot path (see bench/README.md), while the
 * cache and the retry loop stay separate services with one job each.
 */
@Injectable()
export class ProxyPipelineInterceptor implements NestInterceptor {
  constructor(
    private readonly cache: ResponseCache,
    private readonly retries: RetryLoop,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler<UpstreamResponse>): Observable<void> {
    const http = context.switchToHttp();
    const req = http.getRequest<GatewayRequest>();
    const res = http.getResponse<ServerResponse>();
    const tryOnce = (): Promise<UpstreamResponse> => lastValueFrom(next.handle());
    return from(
      this.cache.run(req, () => this.retries.run(req, tryOnce)).then((answer) => writeUpstreamResponse(res, answer)),
    );
  }
}
