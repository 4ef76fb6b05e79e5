// The live dashboard (issue 8): the page in a real Chromium (playwright-core, Debian's browser), the SSE
// stream, the circuit-breaker drill, admin-key access and DASHBOARD_ENABLED=false, against a real gateway and
// two real flaky-upstream processes.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium, type Page } from 'playwright-core';
import { request as undiciRequest } from 'undici';
import {
  type FlakyProc,
  freePort,
  type GatewayProc,
  onCleanup,
  REPO_ROOT,
  request,
  sleep,
  startFlaky,
  startGateway,
} from './helpers/index.js';

// Page-side callbacks run in the browser; this project's TypeScript has no DOM lib.
declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
const ADMIN_KEY = 'dashboard-admin-key-3f9c1e';

/** One parsed Server-Sent Event, with the time it arrived. */
interface SseEvent {
  event: string;
  data: string;
  at: number;
}

const waiters: (() => void)[] = [];

/** A live `/dashboard/events` stream read by a plain HTTP client (no browser). */
class SseStream {
  readonly events: SseEvent[] = [];
  retry: number | null = null;
  private readonly abort = new AbortController();
  status = 0;
  headers: Record<string, string | string[] | undefined> = {};
  ended = false;

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
    const s = new SseStream();
    const res = await undiciRequest(url, { headers, signal: s.abort.signal, headersTimeout: 5000 });
    s.status = res.statusCode;
    s.headers = res.headers;
    onCleanup(() => s.close());
    void s.read(res.body);
    return s;
  }

  private async read(body: AsyncIterable<Buffer>): Promise<void> {
    let buf = '';
    try {
      for await (const chunk of body) {
        buf += chunk.toString('utf8');
        let cut: number;
        while ((cut = buf.indexOf('\n\n')) !== -1) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
            else if (line.startsWith('retry: ')) this.retry = Number(line.slice(7));
          }
          if (data.length > 0) this.events.push({ event, data: data.join('\n'), at: Date.now() });
          this.wake();
        }
      }
    } catch {
      // aborted by close()
    }
    this.ended = true;
    this.wake();
  }

  /** Wakes every waiter of every stream: a wait may look at several streams. */
  private wake(): void {
    for (const w of waiters.splice(0)) w();
  }

  /** Parsed `data` of every event of that type so far. */
  all<T = Record<string, unknown>>(event: string): T[] {
    return this.events.filter((e) => e.event === event).map((e) => JSON.parse(e.data) as T);
  }

  /** Waits until `pred` holds over the events so far. */
  async until(pred: (events: SseEvent[]) => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.events)) {
      if (this.ended) throw new Error(`stream ended before ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${this.events.map((e) => e.event).join(',')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.abort.abort();
  }
}

interface Snapshot {
  seq: number;
  t: number;
  viewers: number;
  store: string;
  config: { version: string };
  breakers: { id: string; state: string; consecutiveFailures: number }[];
  drill: { enabled: boolean; running: unknown; last: { phase: string; ok?: boolean } | null };
}

async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run scripts/ensure-tools.sh (apt-get install -y chromium)`);
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking'],
  });
  onCleanup(() => browser.close());
  return browser;
}

const contexts: BrowserContext[] = [];

/** A browser context closed after the test, passed or failed (an open page is a dashboard viewer). */
async function newContext(options?: BrowserContextOptions): Promise<BrowserContext> {
  const ctx = await browser.newContext(options);
  contexts.push(ctx);
  return ctx;
}

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
});

/** A page that records console errors, CSP violations and uncaught exceptions. */
async function openPage(ctx: BrowserContext): Promise<{ page: Page; problems: string[] }> {
  const page = await ctx.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return { page, problems };
}

function breakerRows(page: Page): Promise<{ id: string; state: string; badge: string }[]> {
  return page.$$eval('#breaker-rows tr', (trs) =>
    trs.map((tr) => ({
      id: tr.getAttribute('data-id') ?? '',
      state: tr.getAttribute('data-state') ?? '',
      badge: tr.querySelector('.badge')?.textContent ?? '',
    })),
  );
}

let flakyA: FlakyProc;
let flakyB: FlakyProc;
let gw: GatewayProc;
let secured: GatewayProc;
let off: GatewayProc;
let browser: Browser;

beforeAll(async () => {
  [flakyA, flakyB] = await Promise.all([
    startFlaky({ env: { INSTANCE_ID: 'a', FLAKY_SEED: '1' } }),
    startFlaky({ env: { INSTANCE_ID: 'b', FLAKY_SEED: '2' } }),
  ]);
  const breaker = { failureThreshold: 2, resetTimeoutMs: 300 };
  [gw, secured, off, browser] = await Promise.all([
    startGateway({
      routes: {
        services: {
          flaky: {
            instances: [flakyA.url, flakyB.url],
            timeoutMs: 2000,
            retry: { maxRetries: 1, initialBackoffMs: 5, maxBackoffMs: 10 },
            circuitBreaker: breaker,
          },
          solo: { instances: [flakyA.url], retry: { maxRetries: 0 }, circuitBreaker: breaker },
        },
      },
      env: { DASHBOARD_DRILL: 'true', RATE_LIMIT_ENABLED: 'false', SHUTDOWN_DRAIN_MS: '500' },
    }),
    startGateway({ env: { ADMIN_API_KEY: ADMIN_KEY, SHUTDOWN_DRAIN_MS: '500' } }),
    startGateway({ env: { DASHBOARD_ENABLED: 'false', DASHBOARD_DRILL: 'true', SHUTDOWN_DRAIN_MS: '500' } }),
    launchBrowser(),
  ]);
}, 30_000);

describe('page and assets', () => {
  it('serves one page whose script, styles and Chart.js come from the gateway, with types and cache headers', async () => {
    const page = await request(`${gw.url}/dashboard`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toMatch(/no-cache/);
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
    const urls = [...page.text.matchAll(/(?:src|href)="(\/dashboard\/assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(urls).toEqual([
      expect.stringMatching(/^\/dashboard\/assets\/dashboard\.css\?v=/),
      expect.stringMatching(/^\/dashboard\/assets\/chart\.umd\.min\.js\?v=4\./),
      expect.stringMatching(/^\/dashboard\/assets\/dashboard\.js\?v=/),
    ]);
    expect(page.text).not.toMatch(/https?:\/\//); // no CDN
    for (const url of urls) {
      const res = await request(gw.url + url);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe(
        url.includes('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8',
      );
      expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
    const chart = await request(`${gw.url}/dashboard/assets/chart.umd.min.js`);
    expect(chart.text).toMatch(/^\/\*![\s\S]{0,40}Chart\.js v4/);
  });
});

describe('in Chromium', () => {
  it('shows every instance CLOSED, runs the drill (OPEN, then CLOSED again) and lists it on the timeline', async () => {
    const ctx = await newContext({ viewport: { width: 1280, height: 800 } });
    const { page, problems } = await openPage(ctx);
    await page.goto(`${gw.url}/dashboard`);
    await page.waitForSelector('#conn.conn-live');
    await page.waitForFunction(() => document.querySelectorAll('#breaker-rows tr').length === 3);
    const before = await breakerRows(page);
    expect(before.map((r) => r.id).sort()).toEqual(
      [`flaky/${flakyA.hostPort}`, `flaky/${flakyB.hostPort}`, `solo/${flakyA.hostPort}`].sort(),
    );
    for (const row of before) {
      expect(row.state).toBe('CLOSED');
      expect(row.badge).toContain('CLOSED'); // the word, not only the colour
    }
    await expect(page.locator('#store').textContent()).resolves.toBe('Embedded (in memory)');
    await expect(page.locator('#version').textContent()).resolves.toMatch(/^[0-9a-f]{12}$/);
    expect(await page.locator('#drill-service').inputValue()).toBe('flaky');

    const run = page.getByRole('button', { name: 'Run circuit breaker test' });
    await run.click();
    // Read the row the moment it is OPEN (it stays so only for the 300 ms reset timeout).
    const openRow = await page.waitForFunction(
      () => {
        const tr = document.querySelector('#breaker-rows tr[data-id^="flaky/"][data-state="OPEN"]');
        return tr && { badge: tr.querySelector('.badge').textContent, trial: tr.querySelector('td.trial').textContent };
      },
      undefined,
      { timeout: 5000 },
    );
    const { badge, trial } = (await openRow.jsonValue()) as { badge: string; trial: string };
    expect(badge).toContain('OPEN');
    expect(trial).toMatch(/^(in \d+\.\d s|due now)$/);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-drill.png') });

    await page.waitForSelector('#drill-steps li[data-phase="done"].done', { timeout: 10_000 });
    await expect(page.locator('#drill-status').textContent()).resolves.toMatch(/^Passed: /);
    await page.waitForFunction(() =>
      [...document.querySelectorAll('#breaker-rows tr[data-id^="flaky/"]')].every(
        (tr: { dataset: { state: string } }) => tr.dataset.state === 'CLOSED',
      ),
    );
    expect(await run.isEnabled()).toBe(true);

    const timeline = await page.$$eval('#timeline li', (lis) =>
      lis.map((li) => ({ type: li.getAttribute('data-type'), text: li.textContent ?? '' })),
    );
    for (const flaky of [flakyA, flakyB]) {
      const mine = timeline.filter(
        (e) => e.type === 'breaker_transition' && e.text.includes(`flaky / ${flaky.hostPort}`),
      );
      expect(mine.some((e) => /CLOSED.*to.*OPEN/.test(e.text))).toBe(true);
      expect(mine.some((e) => /HALF_OPEN.*to.*CLOSED/.test(e.text))).toBe(true);
    }
    expect(timeline.filter((e) => e.type === 'drill').map((e) => e.text)).toEqual([
      expect.stringMatching(/Circuit breaker test on flaky passed/),
      expect.stringMatching(/Circuit breaker test started on flaky/),
    ]);

    // Every chart is drawn and labelled; the layout fits 1280 wide and a phone.
    for (const id of ['states', 'rps', 'errors', 'latency', 'retries', 'ratelimit', 'cache']) {
      const canvas = page.locator(`#c-${id}`);
      await expect(canvas.getAttribute('role')).resolves.toBe('img');
      expect((await canvas.boundingBox())!.height).toBeGreaterThan(50);
    }
    expect(await page.evaluate(() => document.documentElement.scrollWidth as number)).toBeLessThanOrEqual(1280);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(100);
    expect(await page.evaluate(() => document.documentElement.scrollWidth as number)).toBeLessThanOrEqual(390);
    expect(problems).toEqual([]);
  }, 30_000);

  it('reconnects by itself after the gateway restarts; the stream does not hold the shutdown drain', async () => {
    const port = await freePort();
    const env = { PORT: String(port), SHUTDOWN_DRAIN_MS: '20000' };
    const first = await startGateway({ env });
    const ctx = await newContext();
    const { page } = await openPage(ctx);
    await page.goto(`http://127.0.0.1:${port}/dashboard`);
    await page.waitForSelector('#conn.conn-live');

    const t0 = Date.now();
    expect(await first.stop()).toBe(0);
    expect(Date.now() - t0).toBeLessThan(3000); // far below the 20 s drain: the stream ended at once
    await page.waitForSelector('#timeline li[data-type="stream"]', { timeout: 5000 });

    await startGateway({ env }); // the same port: the page's EventSource finds it by itself
    await page.waitForSelector('#conn.conn-live', { timeout: 10_000 });
    const texts = await page.$$eval('#timeline li[data-type="stream"]', (lis) => lis.map((li) => li.textContent));
    expect(texts.join(' ')).toMatch(/Reconnected/);
  }, 30_000);
});

describe('GET /dashboard/events', () => {
  it('streams an init, then one snapshot a second, with the retry hint and no buffering', async () => {
    const s = await SseStream.open(`${gw.url}/dashboard/events`);
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(s.headers['cache-control']).toMatch(/no-cache/);
    expect(s.headers['x-accel-buffering']).toBe('no');
    await s.until((e) => e.filter((x) => x.event === 'snapshot').length >= 3, 4000, 'three snapshots');
    expect(s.retry).toBeGreaterThan(0);
    expect(s.events[0].event).toBe('init');
    const init = JSON.parse(s.events[0].data) as { history: unknown[]; events: unknown[] };
    expect(Array.isArray(init.history) && Array.isArray(init.events)).toBe(true);
    const snaps = s.events.filter((e) => e.event === 'snapshot');
    const parsed = snaps.map((e) => JSON.parse(e.data) as Snapshot);
    expect(parsed[1].seq).toBe(parsed[0].seq + 1);
    expect(parsed[2].seq).toBe(parsed[1].seq + 1);
    // Cadence from the server's stamps (the arrival times carry the test runner's own scheduling).
    for (const gap of [parsed[2].t - parsed[1].t, parsed[1].t - parsed[0].t]) {
      expect(gap).toBeGreaterThan(600); // ~1/s, with room for a busy shared machine
      expect(gap).toBeLessThan(1600);
    }
    expect(parsed[2].store).toBe('embedded');
    expect(parsed[2].breakers.length).toBe(3);
    s.close();
    const head = await request(`${gw.url}/dashboard/events`, { method: 'HEAD', timeoutMs: 2000 });
    expect(head.status).toBe(200); // answered and ended, not left open
    expect(head.headers['content-type']).toBe('text/event-stream; charset=utf-8');
  });

  it('pushes a breaker transition as it happens, not with the next snapshot', async () => {
    const s = await SseStream.open(`${gw.url}/dashboard/events`);
    await s.until((e) => e.some((x) => x.event === 'snapshot'), 3000, 'a snapshot');
    // solo: one instance, threshold 2, no retries: the second failure opens it.
    await request(`${gw.url}/v1/proxy/solo/fail?status=503`);
    await request(`${gw.url}/v1/proxy/solo/fail?status=503`);
    const opened = Date.now();
    const isOpen = (x: SseEvent): boolean =>
      x.event === 'breaker_transition' && /"service":"solo".*"to":"open"/.test(x.data);
    await s.until((e) => e.some(isOpen), 1000, 'the transition to open');
    const ev = s.events.find(isOpen)!;
    expect(ev.at - opened).toBeLessThan(1000);
    const pushed = JSON.parse(ev.data) as { at: string; from: string; upstream: string };
    expect(pushed).toMatchObject({ from: 'closed', upstream: flakyA.hostPort });
    expect(ev.at - Date.parse(pushed.at)).toBeLessThan(1000);
    // Close it again (reset 300 ms, then a good trial) so later tests start from CLOSED.
    await s.until(
      (e) => e.some((x) => x.event === 'breaker_transition' && /"service":"solo".*"to":"half_open"/.test(x.data)),
      3000,
      'half-open',
    );
    await request(`${gw.url}/v1/proxy/solo/ok`);
    await s.until(
      (e) => e.some((x) => x.event === 'breaker_transition' && /"service":"solo".*"to":"closed"/.test(x.data)),
      3000,
      'closed',
    );
    s.close();
  });

  it('computes one snapshot per tick for all viewers, and runs no timer when nobody watches', async () => {
    const a = await SseStream.open(`${gw.url}/dashboard/events`);
    const b = await SseStream.open(`${gw.url}/dashboard/events`);
    const seqs = (s: SseStream): number[] => s.all<Snapshot>('snapshot').map((x) => x.seq);
    await a.until(() => seqs(a).length >= 1 && seqs(b).length >= 1, 3000, 'a snapshot on both');
    const target = Math.max(...seqs(a), ...seqs(b)) + 1;
    await a.until(() => seqs(a).includes(target) && seqs(b).includes(target), 3000, `tick ${target} on both`);
    // Per-viewer work would give each viewer its own numbers; one shared tick gives both the same ones.
    const both = seqs(a).filter((n) => seqs(b).includes(n));
    expect(both).toContain(target);
    const snap = a.all<Snapshot>('snapshot').find((x) => x.seq === target)!;
    expect(snap.viewers).toBe(2);
    a.close();
    b.close();

    let idle: Snapshot;
    const deadline = Date.now() + 3000;
    do idle = (await request(`${gw.url}/dashboard/snapshot`)).json<Snapshot>();
    while (idle.viewers !== 0 && Date.now() < deadline);
    expect(idle.viewers).toBe(0);
    await sleep(1300);
    const later = (await request(`${gw.url}/dashboard/snapshot`)).json<Snapshot>();
    expect(later.seq).toBe(idle.seq); // no tick ran while nobody watched
  });
});

describe('POST /dashboard/drill', () => {
  it('runs one drill at a time (409), validates against the route table, and streams its progress', async () => {
    const s = await SseStream.open(`${gw.url}/dashboard/events`);
    const bad = await request(`${gw.url}/dashboard/drill`, { method: 'POST', body: { service: 'nope' } });
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({
      code: 'BAD_REQUEST',
      problems: [expect.stringMatching(/^service: expected one of flaky, solo/)],
    });
    const traversal = await request(`${gw.url}/dashboard/drill`, { method: 'POST', body: { okPath: '/../admin' } });
    expect(traversal.status).toBe(400);
    const form = await request(`${gw.url}/dashboard/drill`, {
      method: 'POST',
      body: 'service=flaky',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(400); // JSON only: a cross-site form cannot start it

    const first = await request(`${gw.url}/dashboard/drill`, { method: 'POST', body: { service: 'solo' } });
    expect(first.status).toBe(202);
    expect(first.json()).toMatchObject({ phase: 'burst', service: 'solo' });
    const second = await request(`${gw.url}/dashboard/drill`, { method: 'POST', body: {} });
    expect(second.status).toBe(409);
    expect(second.headers['content-type']).toBe('application/problem+json');

    const final = (x: SseEvent): boolean => x.event === 'drill' && /"phase":"(done|failed)"/.test(x.data);
    await s.until((e) => e.some(final), 10_000, 'the end of the drill');
    const phases = s.all<{ phase: string; ok?: boolean; statuses: Record<string, number> }>('drill');
    expect(phases.at(-1)).toMatchObject({ phase: 'done', ok: true });
    expect(new Set(phases.map((p) => p.phase))).toEqual(new Set(['burst', 'fail_fast', 'waiting', 'trials', 'done']));
    // The burst's failures, then the trial that closed it.
    expect(phases.at(-1)!.statuses['503']).toBeGreaterThanOrEqual(2);
    expect(phases.at(-1)!.statuses['200']).toBeGreaterThanOrEqual(1);
    s.close();
  }, 20_000);
});

describe('with ADMIN_API_KEY set', () => {
  it('refuses anonymous access to the page (login redirect), the stream, the snapshot and the drill', async () => {
    const page = await request(`${secured.url}/dashboard`);
    expect(page.status).toBe(303);
    expect(page.headers.location).toBe('/dashboard/login');
    for (const [method, path] of [
      ['GET', '/dashboard/events'],
      ['GET', '/dashboard/snapshot'],
      ['POST', '/dashboard/drill'],
    ] as const) {
      const res = await request(secured.url + path, { method });
      expect(res.status).toBe(401);
      expect(res.json()).toMatchObject({ code: 'UNAUTHORIZED' });
    }
    const wrong = await request(`${secured.url}/dashboard/snapshot`, { headers: { 'x-api-key': 'not-the-key' } });
    expect(wrong.status).toBe(401);
    const css = await request(`${secured.url}/dashboard/assets/dashboard.css`);
    expect(css.status).toBe(200); // static, public: the login form needs it
  });

  it('takes the key in a header (curl), and drill stays off unless DASHBOARD_DRILL is set', async () => {
    const ok = await request(`${secured.url}/dashboard`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(ok.status).toBe(200);
    expect(ok.text).not.toContain('Run circuit breaker test');
    const s = await SseStream.open(`${secured.url}/dashboard/events`, { 'x-api-key': ADMIN_KEY });
    expect(s.status).toBe(200);
    await s.until((e) => e.some((x) => x.event === 'snapshot'), 3000, 'a snapshot');
    s.close();
    const drill = await request(`${secured.url}/dashboard/drill`, {
      method: 'POST',
      headers: { 'x-api-key': ADMIN_KEY },
      body: {},
    });
    expect(drill.status).toBe(404);
  });

  it('signs in through the form in the browser: an HttpOnly, SameSite=Strict cookie without the key', async () => {
    const ctx = await newContext();
    const { page, problems } = await openPage(ctx);
    await page.goto(`${secured.url}/dashboard`);
    expect(new URL(page.url()).pathname).toBe('/dashboard/login');
    await page.getByLabel('Admin API key').fill('wrong-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/not the admin key/);

    await page.getByLabel('Admin API key').fill(ADMIN_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${secured.url}/dashboard`);
    await page.waitForSelector('#conn.conn-live');
    const [cookie] = await ctx.cookies();
    expect(cookie).toMatchObject({
      name: 'bw_dashboard',
      httpOnly: true,
      sameSite: 'Strict',
      path: '/dashboard',
      secure: false,
    });
    expect(cookie.value).not.toContain(ADMIN_KEY);
    // The 401 of the wrong key is the only console noise allowed.
    expect(problems.filter((p) => !/401/.test(p))).toEqual([]);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${secured.url}/dashboard/login`);
    expect(await ctx.cookies()).toEqual([]);
  }, 20_000);
});

describe('with DASHBOARD_ENABLED=false', () => {
  it('answers 404 for everything under /dashboard', async () => {
    for (const [method, path] of [
      ['GET', '/dashboard'],
      ['GET', '/dashboard/events'],
      ['GET', '/dashboard/snapshot'],
      ['GET', '/dashboard/login'],
      ['GET', '/dashboard/assets/chart.umd.min.js'],
      ['POST', '/dashboard/drill'],
    ] as const) {
      const res = await request(off.url + path, { method });
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
  });
});
