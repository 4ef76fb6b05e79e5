import { pino, type DestinationStream, type Logger } from 'pino';

/** Header names whose values never reach a log line. */
export const REDACTED_HEADERS = ['x-api-key', 'authorization', 'proxy-authorization', 'cookie', 'set-cookie'] as const;

/** pino redact paths: the secret headers wherever a request or response object is logged. */
export const REDACT_PATHS: string[] = [
  ...REDACTED_HEADERS.flatMap((h) => [`req.headers["${h}"]`, `res.headers["${h}"]`, `headers["${h}"]`]),
  'apiKey',
  'key',
  'password',
];

export interface LoggerOptions {
  readonly level: string;
  /** Where lines go (default: stdout, synchronously flushed on exit). */
  readonly destination?: DestinationStream;
}

let lastMs = 0;
let lastTime = '';
/** pino's ISO time, formatted once per millisecond (several log lines share one at load). */
function isoTimeCached(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

/**
 * The process's one pino logger: JSON lines, ISO time, secrets redacted.
 * @example const log = createLogger({ level: 'info' }); log.info({ event: 'redis_lost' }, 'Redis lost');
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { app: 'breakwater' },
      timestamp: isoTimeCached,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

export type { Logger };
