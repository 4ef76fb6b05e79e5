import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import { type Response } from 'express';
import { LOGGER, type Logger, resolveRequestId } from '@app/logging';
import { ClientGone } from '../proxy/forwarder.service.js';
import { ERROR_CODES, type ErrorCode, GatewayError } from './gateway-error.js';
import { type GatewayRequest } from './request-context.js';

const PROBLEM_BASE = 'https://breakwater.dev/problems/';

/** Maps Nest's own HTTP exceptions (404 of unknown routes, 405…) to our codes. */
function fromHttpException(err: HttpException): GatewayError {
  const status = err.getStatus();
  const code = (Object.keys(ERROR_CODES) as ErrorCode[]).find(
    (c) => ERROR_CODES[c].status === status && c !== 'UNKNOWN_SERVICE',
  );
  return new GatewayError(code ?? 'INTERNAL_ERROR', status === 404 ? 'no route matches this path' : err.message);
}

/**
 * The one filter that shapes every error the gateway answers itself: RFC 9457
 * `application/problem+json` with the contract's code and the request id. Unknown errors
 * become a plain 500 (logged with the request id, never shown to the client).
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<GatewayRequest>();
    const res = http.getResponse<Response>();
    if (exception instanceof ClientGone) {
      if (!res.destroyed) res.destroy();
      return;
    }
    if (exception instanceof HttpException && isHealthReport(exception.getResponse())) {
      // A failed terminus check: the report is the answer (probes and humans read it).
      res.status(exception.getStatus()).setHeader('Cache-Control', 'no-store').json(exception.getResponse());
      return;
    }
    let err: GatewayError;
    if (GatewayError.isGatewayError(exception)) err = exception;
    else if (exception instanceof HttpException) err = fromHttpException(exception);
    else {
      this.logger.error({ event: 'internal_error', requestId: req.bw?.requestId, err: exception }, 'unexpected error');
      err = new GatewayError('INTERNAL_ERROR', 'the gateway failed to handle this request');
    }
    if (res.headersSent) {
      // Too late for a problem document: cut the connection so the client sees the failure.
      res.destroy();
      return;
    }
    writeProblem(res, err, req.bw?.requestId ?? earlyRequestId(req, res));
  }
}

/**
 * The id of a request that failed before the context middleware ran (the router could not
 * decode its path, e.g. `%zz`): resolved the same way, and returned in X-Request-Id too.
 */
function earlyRequestId(req: GatewayRequest, res: Response): string {
  const id = resolveRequestId(req.headers['x-request-id']);
  res.setHeader('X-Request-Id', id);
  return id;
}

/** The body terminus attaches to a failed health check (`{ status, info, error, details }`). */
function isHealthReport(body: unknown): boolean {
  return typeof body === 'object' && body !== null && 'details' in body && 'status' in body;
}

/** Writes `err` as problem+json. Also used outside Nest's pipeline (listener-level errors). */
export function writeProblem(
  res: Response | import('node:http').ServerResponse,
  err: GatewayError,
  requestId: string,
): void {
  const body = JSON.stringify({
    type: PROBLEM_BASE + err.code.toLowerCase().replace(/_/g, '-'),
    title: ERROR_CODES[err.code].title,
    status: err.status,
    detail: err.detail,
    code: err.code,
    requestId,
    ...err.extra,
  });
  res.statusCode = err.status;
  res.setHeader('Content-Type', 'application/problem+json');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('Cache-Control', 'no-store');
  for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
  res.end(body);
}
