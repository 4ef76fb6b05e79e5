/** The error codes of CONTRACT §3, with their status and title. */
export const ERROR_CODES = {
  BAD_REQUEST: { status: 400, title: 'Bad request' },
  UNAUTHORIZED: { status: 401, title: 'Unauthorized' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  UNKNOWN_SERVICE: { status: 404, title: 'Unknown service' },
  REQUEST_TIMEOUT: { status: 408, title: 'Request timeout' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload too large' },
  URI_TOO_LONG: { status: 414, title: 'URI too long' },
  HEADERS_TOO_LARGE: { status: 431, title: 'Request header fields too large' },
  DRILL_RUNNING: { status: 409, title: 'Conflict' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  UPGRADE_NOT_SUPPORTED: { status: 501, title: 'Upgrade not supported' },
  UPSTREAM_UNAVAILABLE: { status: 502, title: 'Upstream unavailable' },
  CIRCUIT_OPEN: { status: 503, title: 'Circuit open' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'Service unavailable' },
  UPSTREAM_TIMEOUT: { status: 504, title: 'Upstream timeout' },
  INTERNAL_ERROR: { status: 500, title: 'Internal error' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  UNPROCESSABLE: { status: 422, title: 'Unprocessable configuration' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * An error the gateway answers itself, written as problem+json by the one exception filter.
 * Recognise ours with {@link GatewayError.isGatewayError}.
 */
export class GatewayError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly headers: Readonly<Record<string, string>> = {},
    readonly extra: Readonly<Record<string, unknown>> = {},
  ) {
    // These are answers, not bugs: no stack trace (capturing one is the most expensive part of
    // an Error, and the circuit-open fast-fail path makes one per request).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(detail);
    Error.stackTraceLimit = limit;
    this.name = 'GatewayError';
    this.status = ERROR_CODES[code].status;
  }

  static isGatewayError(err: unknown): err is GatewayError {
    return err instanceof GatewayError;
  }
}

/** What a failed upstream try was: decides 502 vs 504, the retry reason and the metric outcome. */
export type FailureKind = 'connect-failure' | 'timeout';

/** A try that got no response from the upstream (connect failure, reset, timeout). */
export class UpstreamFailure extends GatewayError {
  constructor(
    readonly kind: FailureKind,
    detail: string,
    readonly instanceId: string | null,
  ) {
    super(kind === 'timeout' ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_UNAVAILABLE', detail);
  }
}
