import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, isPortFree } from './ports.js';
import { baseEnv, ManagedProcess, onCleanup, sleep } from './processes.js';

const execFileAsync = promisify(execFile);

/** Options of {@link startRedis}. */
export interface StartRedisOptions {
  /** @default a free port */
  port?: number;
  /** Extra `redis-server` arguments, e.g. `['--maxmemory', '10mb']`. */
  args?: string[];
  /** Time allowed to start. @default 5000 */
  timeoutMs?: number;
}

/**
 * A `redis-server` process on 127.0.0.1 with no persistence (`--save '' --appendonly no`): a restart starts
 * empty. Its working directory is a temp dir removed after the test file.
 */
export class RedisProc {
  /** The current process (replaced by {@link restart}). */
  process!: ManagedProcess;

  constructor(
    readonly port: number,
    readonly dir: string,
    private readonly extraArgs: readonly string[],
    private readonly timeoutMs: number,
  ) {}

  /** `redis://127.0.0.1:PORT` */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** `127.0.0.1:PORT` */
  get hostPort(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Spawns redis-server and waits until it accepts connections. @internal use startRedis() or restart() */
  async spawn(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    args.push('--dir', this.dir, ...this.extraArgs);
    this.process = new ManagedProcess('redis-server', args, { name: `redis:${this.port}`, env: baseEnv() });
    await this.process.waitForLine(/Ready to accept connections/, this.timeoutMs);
  }

  /** Graceful shutdown (SIGTERM); resolves the exit code. */
  stop(timeoutMs = 5000): Promise<number> {
    return this.process.stop('SIGTERM', timeoutMs);
  }

  /** SIGKILL: Redis vanishes; clients see their connections reset. */
  kill(): Promise<number> {
    return this.process.kill();
  }

  /** Stops (if running) and starts again on the same port, empty. */
  async restart(): Promise<void> {
    await this.process.stop();
    await this.spawn();
  }

  /** SIGSTOP: Redis keeps its sockets but answers nothing (a "slow Redis" until {@link resume}). */
  pause(): void {
    this.process.pause();
  }

  /** SIGCONT after {@link pause}: queued commands are answered. */
  resume(): void {
    this.process.resume();
  }

  /**
   * Runs `redis-cli -h 127.0.0.1 -p PORT ...args` and resolves its trimmed stdout.
   *
   * @throws when redis-cli fails or takes over 5 s
   * @example expect(await redis.cli('PING')).toBe('PONG');
   */
  async cli(...args: string[]): Promise<string> {
    const { stdout } = await execFileAsync('redis-cli', ['-h', '127.0.0.1', '-p', String(this.port), ...args], {
      timeout: 5000,
      env: baseEnv(),
    });
    return stdout.trim();
  }
}

/**
 * Starts a real `redis-server` (Debian package; `scripts/ensure-tools.sh` installs it) on a free port.
 * Stopped and its temp dir removed automatically after the test file.
 *
 * @example
 * const redis = await startRedis();
 * const gw = await startGateway({ env: { REDIS_URL: redis.url } });
 * await redis.kill(); ... await redis.restart();
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisProc> {
  const attempts = options.port === undefined ? 3 : 1;
  for (let attempt = 1; ; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'bw-redis-'));
    onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    const redis = new RedisProc(options.port ?? (await freePort()), dir, options.args ?? [], options.timeoutMs ?? 5000);
    try {
      await redis.spawn();
      return redis;
    } catch (err) {
      await redis.process?.kill();
      const taken = /Address already in use/i.test(redis.process?.output() ?? '');
      if (!taken || attempt >= attempts) throw err;
    }
  }
}

let shared: Promise<string> | undefined;

/**
 * `REDIS_URL` when the test environment sets it (an existing Redis), else the URL of one redis-server
 * started once per test file. Only for suites that never stop, kill or pause Redis.
 */
export function sharedRedisUrl(): Promise<string> {
  if (process.env.REDIS_URL) return Promise.resolve(process.env.REDIS_URL);
  if (!shared) {
    shared = startRedis().then((r) => r.url);
    onCleanup(() => {
      shared = undefined;
    });
  }
  return shared;
}

/** A running Redis Cluster (see {@link startRedisCluster}). */
export interface RedisCluster {
  /** The nodes, masters only. */
  nodes: RedisProc[];
  /** `redis://127.0.0.1:P` of each node. */
  urls: string[];
  /** The comma list for `REDIS_URL` with `REDIS_CLUSTER=true`. */
  seeds: string;
  /** Stops every node. */
  stop(): Promise<void>;
}

/** A port P ≤ 55535 with P and its cluster bus port P + 10000 both free. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = await freePort({ max: 55535 });
    if (!taken.has(port) && !taken.has(port + 10000) && (await isPortFree(port + 10000))) return port;
  }
  throw new Error('startRedisCluster: no free port pair (P, P+10000) found');
}

/**
 * Starts `masters` redis-server nodes with `--cluster-enabled yes`, joins them with
 * `redis-cli --cluster create … --cluster-replicas 0 --cluster-yes`, and waits until every node reports
 * `cluster_state:ok`. Stopped automatically after the test file.
 *
 * @default masters 3, timeoutMs 15000
 * @example
 * const cluster = await startRedisCluster();
 * const gw = await startGateway({ env: { REDIS_URL: cluster.seeds, REDIS_CLUSTER: 'true' } });
 */
export async function startRedisCluster(options: { masters?: number; timeoutMs?: number } = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < masters; i++) {
    const port = await clusterPort(taken);
    taken.add(port).add(port + 10000);
    ports.push(port);
  }
  const clusterArgs = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'];
  clusterArgs.push('--cluster-node-timeout', '2000');
  const nodes = await Promise.all(ports.map((port) => startRedis({ port, args: clusterArgs })));
  const cluster: RedisCluster = {
    nodes,
    urls: nodes.map((n) => n.url),
    seeds: nodes.map((n) => n.url).join(','),
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
  try {
    await execFileAsync(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((n) => n.hostPort), '--cluster-replicas', '0', '--cluster-yes'],
      { timeout: Math.max(1000, deadline - Date.now()), env: baseEnv() },
    );
    for (const node of nodes) {
      while (!/cluster_state:ok/.test(await node.cli('CLUSTER', 'INFO'))) {
        if (Date.now() > deadline)
          throw new Error(`redis cluster: node ${node.hostPort} never reached cluster_state:ok`);
        await sleep(50);
      }
    }
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
