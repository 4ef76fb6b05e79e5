// The e2e harness itself: processes, Redis (single and cluster), the gateway launcher (against a stand-in script).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  baseEnv,
  freePort,
  isPortFree,
  liveProcesses,
  ManagedProcess,
  onCleanup,
  openRaw,
  request,
  sleep,
  startGateway,
  startRedis,
  startRedisCluster,
  waitForPort,
} from './helpers/index.js';

const node = process.execPath;

describe('ManagedProcess', () => {
  it('captures lines of both streams and resolves the exit code', async () => {
    const p = new ManagedProcess(node, ['-e', 'console.log("a\\nb"); console.error("c"); process.exit(3)']);
    expect(await p.exited).toBe(3);
    expect(p.lines('stdout')).toEqual(['a', 'b']);
    expect(p.lines('stderr')).toEqual(['c']);
    expect(p.output().split('\n').sort()).toEqual(['a', 'b', 'c']);
  });

  it('waits for a line, fails on timeout and on exit with the output in the message', async () => {
    const p = new ManagedProcess(node, [
      '-e',
      'setTimeout(() => console.log("ready 42"), 50); setInterval(() => {}, 1000)',
    ]);
    expect(await p.waitForLine(/ready \d+/, 2000)).toBe('ready 42');
    expect(await p.waitForLine(/ready/, 10)).toBe('ready 42'); // already captured
    await expect(p.waitForLine(/never/, 50)).rejects.toThrow(/no line matching \/never\/ within 50 ms[\s\S]*ready 42/);
    const early = new ManagedProcess(node, ['-e', 'console.log("bye")']);
    await expect(early.waitForLine(/never/, 5000)).rejects.toThrow(/exited \(0\)[\s\S]*bye/);
  });

  it('stop() sends SIGTERM, then SIGKILL after the timeout', async () => {
    const polite = new ManagedProcess(node, [
      '-e',
      'process.on("SIGTERM", () => process.exit(0)); console.log("up"); setInterval(() => {}, 1000)',
    ]);
    await polite.waitForLine(/up/);
    expect(await polite.stop()).toBe(0);
    const stubborn = new ManagedProcess(node, [
      '-e',
      'process.on("SIGTERM", () => {}); console.log("up"); setInterval(() => {}, 1000)',
    ]);
    await stubborn.waitForLine(/up/);
    expect(await stubborn.stop('SIGTERM', 100)).toBe(137);
    expect(stubborn.running).toBe(false);
  });

  it('pause() freezes the process and resume() lets it go on', async () => {
    const p = new ManagedProcess(node, ['-e', 'let n = 0; setInterval(() => console.log(n++), 5)']);
    await p.waitForLine(/^3$/);
    p.pause();
    await sleep(50); // let lines already in the pipe arrive
    const frozen = p.lines().length;
    await sleep(100);
    expect(p.lines().length).toBe(frozen);
    p.resume();
    await p.waitForLine(new RegExp(`^${frozen + 3}$`));
    expect(await p.stop()).toBe(143); // node's default SIGTERM action: killed by the signal
  });

  it('stop() of a paused process still stops it', async () => {
    const p = new ManagedProcess(node, [
      '-e',
      'process.on("SIGTERM", () => process.exit(0)); console.log("up"); setInterval(() => {}, 1000)',
    ]);
    await p.waitForLine(/up/);
    p.pause();
    expect(await p.stop('SIGTERM', 2000)).toBe(0);
  });

  it('gives children a clean environment', async () => {
    process.env.BW_HARNESS_LEAK = 'leaked';
    try {
      const p = new ManagedProcess(node, ['-e', 'console.log(JSON.stringify(process.env))'], {
        env: baseEnv({ EXTRA: '1' }),
      });
      await p.exited;
      const env = JSON.parse(p.output()) as Record<string, string>;
      expect(env.EXTRA).toBe('1');
      expect(env.BW_HARNESS_LEAK).toBeUndefined();
      expect(env.PATH).toBe(process.env.PATH);
    } finally {
      delete process.env.BW_HARNESS_LEAK;
    }
  });

  it('registers live processes until they exit', async () => {
    const p = new ManagedProcess(node, ['-e', 'setInterval(() => {}, 1000)']);
    expect(liveProcesses()).toContain(p);
    await p.kill();
    expect(liveProcesses()).not.toContain(p);
  });
});

describe('ports', () => {
  it('freePort() gives a bindable port, within a bound when asked', async () => {
    const port = await freePort();
    expect(await isPortFree(port)).toBe(true);
    expect(await freePort({ max: 55535 })).toBeLessThanOrEqual(55535);
  });

  it('waitForPort() waits for a listener and fails fast when its process exits', async () => {
    const port = await freePort();
    const p = new ManagedProcess(node, [
      '-e',
      `setTimeout(() => require("node:net").createServer().listen(${port}, "127.0.0.1"), 100)`,
    ]);
    await waitForPort(port, '127.0.0.1', 3000, { process: p });
    await p.kill();
    const dead = new ManagedProcess(node, ['-e', 'console.log("crashed"); process.exit(2)']);
    await expect(waitForPort(await freePort(), '127.0.0.1', 3000, { process: dead })).rejects.toThrow(
      /exited \(2\)[\s\S]*crashed/,
    );
  });
});

describe('redis', () => {
  it('starts, is killed, and restarts empty on the same port', async () => {
    const redis = await startRedis();
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(await redis.cli('SET', 'k', 'v')).toBe('OK');
    expect(await redis.cli('GET', 'k')).toBe('v');

    expect(await redis.kill()).toBe(137);
    await expect(redis.cli('PING')).rejects.toThrow();
    expect(await isPortFree(redis.port)).toBe(true);

    await redis.restart();
    expect(await redis.cli('PING')).toBe('PONG');
    expect(await redis.cli('GET', 'k')).toBe(''); // no persistence
    expect(await redis.stop()).toBe(0);
  });

  it('pause() makes Redis unresponsive until resume()', async () => {
    const redis = await startRedis();
    redis.pause();
    let answered = false;
    const ping = redis.cli('PING').then((out) => {
      answered = true;
      return out;
    });
    await sleep(100);
    expect(answered).toBe(false);
    redis.resume();
    expect(await ping).toBe('PONG');
  });

  it('a 3-master cluster comes up with every slot served, and stops', async () => {
    const cluster = await startRedisCluster({ masters: 3 });
    expect(cluster.urls).toHaveLength(3);
    expect(cluster.seeds).toBe(cluster.urls.join(','));
    for (const node of cluster.nodes) {
      expect(node.port).toBeLessThanOrEqual(55535);
      const info = await node.cli('CLUSTER', 'INFO');
      expect(info).toMatch(/cluster_state:ok/);
      expect(info).toMatch(/cluster_slots_assigned:16384/);
      expect(info).toMatch(/cluster_known_nodes:3/);
    }
    // -c follows MOVED redirects: keys land on different masters and are read back through any node.
    for (const key of ['a', 'b', 'c', 'd']) expect(await cluster.nodes[0].cli('-c', 'SET', key, `v-${key}`)).toBe('OK');
    for (const key of ['a', 'b', 'c', 'd']) expect(await cluster.nodes[2].cli('-c', 'GET', key)).toBe(`v-${key}`);

    await cluster.stop();
    for (const node of cluster.nodes) {
      expect(node.process.exitCode).toBe(0);
      expect(await isPortFree(node.port)).toBe(true);
    }
  }, 20_000);
});

describe('startGateway (against a stand-in script)', () => {
  // Listens like the gateway would: PORT for traffic, MANAGEMENT_PORT (if set) for /health/ready;
  // logs JSON lines, one plain line, and echoes its config file and env on request.
  const scriptDir = mkdtempSync(join(tmpdir(), 'bw-harness-'));
  onCleanup(() => rmSync(scriptDir, { recursive: true, force: true }));
  const script = join(scriptDir, 'fake-gateway.mjs');
  writeFileSync(
    script,
    `import http from 'node:http';
import { readFileSync } from 'node:fs';
const handler = (req, res) => {
  if (req.url === '/health/ready') { res.end('{"status":"ok"}'); return; }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ config: readFileSync(process.env.GATEWAY_CONFIG, 'utf8'), env: process.env }));
};
const main = http.createServer(handler);
main.listen(Number(process.env.PORT), process.env.HOST);
if (process.env.MANAGEMENT_PORT) http.createServer(handler).listen(Number(process.env.MANAGEMENT_PORT), process.env.HOST);
console.log(JSON.stringify({ level: 30, msg: 'started', port: Number(process.env.PORT) }));
console.log('plain text line');
process.on('SIGHUP', () => console.log(JSON.stringify({ level: 30, msg: 'reloaded' })));
process.on('SIGTERM', () => { console.log(JSON.stringify({ level: 30, msg: 'bye' })); process.exit(0); });
`,
  );

  it('writes the routes as YAML, sets the env, waits for both ports and readiness', async () => {
    const routes = { services: { flaky: { instances: ['http://127.0.0.1:1'] } } };
    const gw = await startGateway({
      entry: script,
      routes,
      managementPort: true,
      waitReady: true,
      env: { API_KEYS: 'a:b' },
    });
    expect(gw.mgmtUrl).not.toBe(gw.url);
    expect(parse(readFileSync(gw.configPath, 'utf8'))).toEqual(routes);

    const seen = (await request(`${gw.url}/anything`)).json();
    expect(parse(seen.config)).toEqual(routes);
    expect(seen.env).toMatchObject({
      PORT: String(gw.port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      GATEWAY_CONFIG: gw.configPath,
      MANAGEMENT_PORT: String(gw.managementPort),
      API_KEYS: 'a:b',
    });
    expect((await request(`${gw.mgmtUrl}/health/ready`)).status).toBe(200);

    expect(gw.logs()).toEqual([{ level: 30, msg: 'started', port: gw.port }, { msg: 'plain text line' }]);
    gw.signal('SIGHUP');
    await gw.process.waitForLine(/reloaded/);
    gw.writeRoutes('services: {}\n');
    expect(readFileSync(gw.configPath, 'utf8')).toBe('services: {}\n');
    expect(await gw.stop()).toBe(0);
    expect(await gw.exited).toBe(0);
    expect(gw.logs().at(-1)).toEqual({ level: 30, msg: 'bye' });
  });

  it('without a management port, mgmtUrl is the main URL; routesYaml is written as is', async () => {
    const gw = await startGateway({ entry: script, routesYaml: 'services: {}  # raw\n' });
    expect(gw.mgmtUrl).toBe(gw.url);
    expect(gw.managementPort).toBeUndefined();
    expect(readFileSync(gw.configPath, 'utf8')).toBe('services: {}  # raw\n');
    expect(await gw.kill()).toBe(137);
  });

  it('fails with the output when the process exits before listening', async () => {
    const crash = join(scriptDir, 'crash.mjs');
    writeFileSync(crash, 'console.error("BREAKER_FAILURE_THRESHOLD: must be an integer"); process.exit(1);\n');
    await expect(startGateway({ entry: crash })).rejects.toThrow(/exited \(1\)[\s\S]*BREAKER_FAILURE_THRESHOLD/);
  });
});

describe('raw connections', () => {
  it('openRaw() sends bytes one at a time and sees the server close', async () => {
    const port = await freePort();
    const server = new ManagedProcess(node, [
      '-e',
      `require("node:net").createServer((s) => s.on("data", (d) => { if (d.includes("!")) s.end("bye"); })).listen(${port}, "127.0.0.1", () => console.log("up"))`,
    ]);
    await server.waitForLine(/up/);
    const conn = await openRaw(port);
    for (const ch of 'abc!') await conn.write(ch);
    expect(await conn.waitFor(/bye/)).toBe('bye');
    expect(await conn.closed).toEqual({ byServer: true });
  });
});
