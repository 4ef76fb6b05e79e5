#!/usr/bin/env node
// Makes docs/dashboard.png: the dashboard in Debian's Chromium (playwright-core) in the middle of a
// circuit-breaker drill, after half a minute of mixed demo traffic, so the charts have something to show.
// Runs the built apps (npm run build first) on free loopback ports; stops everything it started.
//
//   node scripts/screenshot-dashboard.mjs [out.png]     (default docs/dashboard.png)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = resolve(process.argv[2] ?? join(ROOT, 'docs/dashboard.png'));
const TRAFFIC_MS = 30_000;
const children = [];
const tmp = mkdtempSync(join(tmpdir(), 'bw-shot-'));

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer().once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

function start(name, file, env) {
  const child = spawn(process.execPath, [join(ROOT, file)], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  child.once('exit', (code) => {
    if (code !== null && code !== 0) console.error(`${name} exited with ${code}`);
  });
  return child;
}

async function waitFor(url, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).status < 500) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer in time`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const [p1, p2, gp] = [await freePort(), await freePort(), await freePort()];
  for (const [port, id, seed] of [
    [p1, 'a', '7'],
    [p2, 'b', '8'],
  ]) {
    start(`flaky-${id}`, 'dist/apps/flaky-upstream/main.js', {
      PORT: String(port),
      HOST: '127.0.0.1',
      INSTANCE_ID: id,
      FLAKY_SEED: seed,
      FLAKY_DELAY_MS: '150',
      FLAKY_FAILURE_RATE: '0.1',
      FLAKY_DELAY_RATE: '0.2',
    });
  }
  const routes = join(tmp, 'gateway.yaml');
  writeFileSync(
    routes,
    [
      'services:',
      '  flaky:',
      `    instances: [http://127.0.0.1:${p1}, http://127.0.0.1:${p2}]`,
      '    timeoutMs: 1000',
      '    retry: { maxRetries: 2, initialBackoffMs: 20, maxBackoffMs: 200 }',
      '    circuitBreaker: { failureThreshold: 3, resetTimeoutMs: 4000 }',
      '    rateLimit: false',
      '  catalog:',
      `    instances: [http://127.0.0.1:${p1}]`,
      '    cache: { ttlSeconds: 2 }',
      '    rateLimit: { capacity: 8, refillPerSecond: 4 }',
      '',
    ].join('\n'),
  );
  start('gateway', 'dist/apps/gateway/main.js', {
    PORT: String(gp),
    HOST: '127.0.0.1',
    GATEWAY_CONFIG: routes,
    DASHBOARD_DRILL: 'true',
  });
  const base = `http://127.0.0.1:${gp}`;
  await waitFor(`${base}/dashboard/snapshot`);

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking'],
  });
  try {
    // A laptop's width; 720 high keeps the PNG README-sized (~150 KB) and still shows the first charts.
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 }, colorScheme: 'light' });
    await page.goto(`${base}/dashboard`);
    await page.waitForSelector('#conn.conn-live');

    // Demo traffic: flaky data (retries, some 503s), a cached catalog (hits) and bursts past its rate limit.
    const until = Date.now() + TRAFFIC_MS;
    let n = 0;
    while (Date.now() < until) {
      const burst = n % 40 < 4 ? 6 : 1;
      const calls = [fetch(`${base}/v1/proxy/flaky/flaky-data`), fetch(`${base}/v1/proxy/flaky/users`)];
      for (let i = 0; i < burst; i++) calls.push(fetch(`${base}/v1/proxy/catalog/products`));
      await Promise.allSettled(calls.map((p) => p.then((r) => r.arrayBuffer())));
      n++;
      await sleep(60);
    }

    await page.getByRole('button', { name: 'Run circuit breaker test' }).click();
    await page.waitForSelector('#breaker-rows tr[data-id^="flaky/"][data-state="OPEN"]', { timeout: 10_000 });
    await page.waitForSelector('#drill-steps li[data-phase="waiting"][aria-current="step"]', { timeout: 10_000 });
    await sleep(1500); // a countdown in progress and a snapshot with the open circuits
    await page.screenshot({ path: OUT });
    console.log(`wrote ${OUT} (${Math.round(statSync(OUT).size / 1024)} KiB)`);
  } finally {
    await browser.close();
  }
}

try {
  await main();
} finally {
  for (const c of children) c.kill('SIGTERM');
  rmSync(tmp, { recursive: true, force: true });
}
