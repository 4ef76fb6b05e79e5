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
