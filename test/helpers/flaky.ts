import { type ChaosSettings } from '../../apps/flaky-upstream/src/chaos.js';
import { request } from './http.js';
import { freePort } from './ports.js';
import { baseEnv, builtFile, ManagedProcess } from './processes.js';

/** What `GET /__chaos` answers. */
export interface ChaosState {
  settings: ChaosSettings;
  /** Requests per path (without query), `/__chaos*` excluded. */
  counts: Record<string, number>;
  total: number;
  /** Responses whose connection closed before they were complete (the client, or a proxy, gave up). */
  aborted: number;
  instance: string;
}

/** Options of {@link startFlaky}. */
export interface StartFlakyOptions {
  /** @default a free port */
  port?: number;
  /** Extra env (e.g. `FLAKY_SEED`, `FLAKY_FAILURE_RATE`, `INSTANCE_ID`), on top of PORT and HOST=127.0.0.1. */
  env?: Record<string, string>;
  /** Time allowed to start. @default 5000 */
  timeoutMs?: number;
}

/** A running flaky-upstream process (see {@link startFlaky}). */
export class FlakyProc {
  /** The current process (replaced by {@link restart}). */
  process!: ManagedProcess;

  constructor(
    readonly port: number,
    private readonly env: Record<string, string>,
    private readonly timeoutMs: number,
  ) {}

  /** `http://127.0.0.1:PORT` */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** `127.0.0.1:PORT`, as the gateway's `upstream` metric label shows it. */
  get hostPort(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Spawns the process and waits for its "listening" line. @internal use startFlaky() or restart() */
  async spawn(): Promise<void> {
    this.process = new ManagedProcess(process.execPath, [builtFile('dist/apps/flaky-upstream/main.js')], {
      name: `flaky:${this.port}`,
      env: baseEnv({ ...this.env, PORT: String(this.port), HOST: '127.0.0.1' }),
    });
    await this.process.waitForLine(/ listening on /, this.timeoutMs);
  }

  /**
   * `PUT /__chaos` with any subset of the settings; resolves the new state.
   *
   * @throws when the server refuses them (400), with its message
   * @example await flaky.chaos({ failureRate: 1, delayRate: 0 });
   */
  async chaos(settings: Partial<ChaosSettings>): Promise<ChaosState> {
    const res = await request(`${this.url}/__chaos`, { method: 'PUT', body: settings });
    if (res.status !== 200) throw new Error(`PUT /__chaos → ${res.status}: ${res.text}`);
    return res.json<ChaosState>();
  }

  /** `GET /__chaos`: settings and requests served per path. */
  async counts(): Promise<ChaosState> {
    const res = await request(`${this.url}/__chaos`);
    if (res.status !== 200) throw new Error(`GET /__chaos → ${res.status}: ${res.text}`);
    return res.json<ChaosState>();
  }

  /** `POST /__chaos/reset`: zeroes the per-path counts. */
  async resetCounts(): Promise<void> {
    const res = await request(`${this.url}/__chaos/reset`, { method: 'POST' });
    if (res.status !== 200) throw new Error(`POST /__chaos/reset → ${res.status}: ${res.text}`);
  }

  /** SIGTERM (graceful: in-flight requests finish); resolves the exit code (0 when clean). */
  stop(timeoutMs = 5000): Promise<number> {
    return this.process.stop('SIGTERM', timeoutMs);
  }

  /** SIGKILL: the upstream dies mid-flight; its sockets are reset/closed by the kernel. */
  kill(): Promise<number> {
    return this.process.kill();
  }

  /** Stops (if running) and starts again on the same port, same env; chaos settings and counts start afresh. */
  async restart(): Promise<void> {
    await this.process.stop();
    await this.spawn();
  }
}

/**
 * Starts `node dist/apps/flaky-upstream/main.js` on 127.0.0.1 and waits until it listens. Stopped
 * automatically after the test file (see processes.ts).
 *
 * @example
 * const flaky = await startFlaky({ env: { FLAKY_SEED: '42', FLAKY_DELAY_MS: '50' } });
 * await request(`${flaky.url}/flaky-data`);
 */
export async function startFlaky(options: StartFlakyOptions = {}): Promise<FlakyProc> {
  const attempts = options.port === undefined ? 3 : 1;
  for (let attempt = 1; ; attempt++) {
    const flaky = new FlakyProc(options.port ?? (await freePort()), options.env ?? {}, options.timeoutMs ?? 5000);
    try {
      await flaky.spawn();
      return flaky;
    } catch (err) {
      await flaky.process?.kill();
      // A free port may be taken by someone else between freePort() and listen(): try another one.
      const taken = /EADDRINUSE/.test(flaky.process?.output() ?? '');
      if (!taken || attempt >= attempts) throw err;
    }
  }
}
