import { type Readable } from 'node:stream';
import { type InstanceConfig } from '@app/config';

/** An upstream's answer, status and headers known, body not yet read. */
export interface UpstreamResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Readable;
  /** The instance that answered (null: served from the cache). */
  readonly instance: InstanceConfig | null;
  /** Extra headers for the client (X-Cache, Age). */
  readonly extraHeaders?: Readonly<Record<string, string>>;
}

const DISCARDED = Symbol('discarded');

/**
 * Drops an answer the gateway will not send (a try about to be retried, a 5xx a stale cache
 * entry stands in for). Marked first, so the body's abort is not taken for the upstream failing.
 */
export function discardBody(response: UpstreamResponse): void {
  (response.body as Readable & { [DISCARDED]?: true })[DISCARDED] = true;
  response.body.destroy();
}

/** Whether the gateway dropped this body itself ({@link discardBody}). */
export function wasDiscarded(body: Readable): boolean {
  return (body as Readable & { [DISCARDED]?: true })[DISCARDED] === true;
}
