import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { request } from './http.js';
import { freePort } from './ports.js';
import { baseEnv, builtFile, ManagedProcess, onCleanup, sleep, waitForPort } from './processes.js';

/** The routes file as an object (CONTRACT §2, "The routes file"); written as YAML. */
export type RoutesConfig = Record<string, unknown>;

/** Options of {@link startGateway}. */
export interface StartGatewayOptions {
  /** Extra env, over PORT, HOST=127.0.0.1, LOG_LEVEL=info, GATEWAY_CONFIG (each may be overridden). */
  env?: Record<string, string>;
  /** The routes file as an object, written as YAML to {@link GatewayProc.configPath}. @default `{ services: {} }` */
  routes?: RoutesConfig;
  /** The routes file as YAML text (wins over `routes`); for files no object can express (bad YAML). */
  routesYaml?: string;
  /** `true`: set MANAGEMENT_PORT to a free port and wait for it too. @default false */
  managementPort?: boolean;
  /**
   * After the ports open, poll this path on the management URL until it answers 200
   * (`true` = `/health/ready`). @default false
   */
  waitReady?: boolean | string;
  /** Time allowed to start (and to be ready). @default 10000 */
  timeoutMs?: number;
  /** The script to run instead of the gateway (the harness's own tests). @default dist/apps/gateway/main.js */
  entry?: string;
  /** @default the repository root */
  cwd?: string;
}

/** One parsed line of the gateway's stdout (pino JSON); a non-JSON line is `{ msg: line }`. */
export type LogLine = Record<string, unknown> & { msg?: string };

/** A running gateway process (see {@link startGateway}). */
export class GatewayProc {
  constructor(
    readonly process: ManagedProcess,
    /** Proxied traffic listener. */
    readonly port: number,
    /** MANAGEMENT_PORT when set, else `undefined`. */
    readonly managementPort: number | undefined,
    /** The routes file this gateway reads: rewrite it (see {@link writeRoutes}) to test reloads. */
    readonly configPath: string,
  ) {}

  /** `http://127.0.0.1:PORT` */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The health/metrics/admin listener's URL: the management port's, or {@link url} when there is none. */
  get mgmtUrl(): string {
    return this.managementPort === undefined ? this.url : `http://127.0.0.1:${this.managementPort}`;
  }

  /** Resolves the exit code when the process ends (128 + signal number when killed by a signal). */
  get exited(): Promise<number> {
    return this.process.exited;
  }

  /** stdout lines parsed as JSON (pino); non-JSON lines kept as `{ msg: line }`. */
  logs(): LogLine[] {
    return this.process.lines('stdout').map((line) => {
      try {
        const parsed = JSON.parse(line) as unknown;
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as LogLine;
      } catch {
        // not JSON: kept as text below
      }
      return { msg: line };
    });
  }

  /** Raw stdout and stderr, in arrival order. */
  output(): string {
    return this.process.output();
  }

  /** Rewrites the routes file (object → YAML, or YAML text as is). Does not signal the gateway. */
  writeRoutes(routes: RoutesConfig | string): void {
    writeFileSync(this.configPath, typeof routes === 'string' ? routes : stringify(routes));
  }

  /** Sends a signal (e.g. `SIGHUP` for a reload). */
  signal(signal: NodeJS.Signals): void {
    this.process.signal(signal);
  }

  /** SIGTERM and wait (SIGKILL after `timeoutMs`); resolves the exit code. @default timeoutMs 30000 (drain time) */
  stop(timeoutMs = 30_000): Promise<number> {
    return this.process.stop('SIGTERM', timeoutMs);
  }

  /** SIGKILL. */
  kill(): Promise<number> {
    return this.process.kill();
  }
}

/**
 * Starts `node dist/apps/gateway/main.js` on 127.0.0.1 with a temp routes file, and waits for its port(s).
 * The child gets only what is given here (see `baseEnv`): no variable of the test runner leaks into it.
 * Stopped and its temp dir removed automatically after the test file.
 *
 * @throws when it exits or does not listen within `timeoutMs` (the message carries its output)
 * @example
 * const flaky = await startFlaky();
 * const gw = await startGateway({
 *   routes: { services: { flaky: { instances: [flaky.url] } } },
 *   env: { RATE_LIMIT_ENABLED: 'false' },
 * });
 * const res = await request(`${gw.url}/v1/proxy/flaky/users`);
 */
export async function startGateway(options: StartGatewayOptions = {}): Promise<GatewayProc> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  const entry = options.entry ? resolve(options.entry) : builtFile('dist/apps/gateway/main.js');
  const dir = mkdtempSync(join(tmpdir(), 'bw-gateway-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const configPath = options.env?.GATEWAY_CONFIG ?? join(dir, 'gateway.yaml');
  if (options.env?.GATEWAY_CONFIG === undefined) {
    writeFileSync(configPath, options.routesYaml ?? stringify(options.routes ?? { services: {} }));
  }

  const port = options.env?.PORT ? Number(options.env.PORT) : await freePort();
  let managementPort: number | undefined;
  if (options.env?.MANAGEMENT_PORT) managementPort = Number(options.env.MANAGEMENT_PORT);
  else if (options.managementPort) {
    do managementPort = await freePort();
    while (managementPort === port);
  }
  const env = baseEnv({
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    GATEWAY_CONFIG: configPath,
    ...(managementPort === undefined ? {} : { MANAGEMENT_PORT: String(managementPort) }),
    ...options.env,
  });
  const child = new ManagedProcess(process.execPath, [entry], { name: `gateway:${port}`, env, cwd: options.cwd });
  const gateway = new GatewayProc(child, port, managementPort, configPath);
  try {
    await waitForPort(port, '127.0.0.1', timeoutMs, { process: child });
    if (managementPort !== undefined) {
      await waitForPort(managementPort, '127.0.0.1', Math.max(0, deadline - Date.now()), { process: child });
    }
    if (options.waitReady) {
      const path = typeof options.waitReady === 'string' ? options.waitReady : '/health/ready';
      await waitFor200(`${gateway.mgmtUrl}${path}`, deadline, child);
    }
  } catch (err) {
    await child.kill();
    throw err;
  }
  return gateway;
}

async function waitFor200(url: string, deadline: number, child: ManagedProcess): Promise<void> {
  let last: string;
  for (;;) {
    try {
      const res = await request(url, { timeoutMs: 1000 });
      if (res.status === 200) return;
      last = `${res.status} ${res.text.slice(0, 300)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (!child.running)
      throw new Error(`${child.name} exited (${child.exitCode}) before ${url} was ready\n${child.tail()}`);
    if (Date.now() > deadline) throw new Error(`${url} not ready in time (last: ${last})\n${child.tail()}`);
    await sleep(20);
  }
}
