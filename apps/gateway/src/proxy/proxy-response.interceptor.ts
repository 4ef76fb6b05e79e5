import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { type ServerResponse } from 'node:http';
import { map, type Observable } from 'rxjs';
import { type GatewayRequest } from '../common/request-context.js';
import { type UpstreamResponse } from './proxy-result.js';
import { writeUpstreamResponse } from './response-writer.js';

/**
 * Outermost step of the proxy pipeline: the final answer (after retries and the cache)
 * is written to the client here, once.
 */
@Injectable()
export class ProxyResponseInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler<UpstreamResponse>): Observable<void> {
    const http = context.switchToHttp();
    const req = http.getRequest<GatewayRequest>();
    const res = http.getResponse<ServerResponse>();
    return next.handle().pipe(map((result) => writeUpstreamResponse(req, res, result)));
  }
}
