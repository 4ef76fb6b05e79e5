/** Asset URLs (content-versioned) the pages link. */
export interface PageAssets {
  readonly css: string;
  readonly js: string;
  readonly chart: string;
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const CHARTS: readonly [id: string, title: string][] = [
  ['rps', 'Requests per second'],
  ['errors', 'Error rate (5xx, % of requests)'],
  ['latency', 'Latency p50 / p99 (ms)'],
  ['retries', 'Retries per second'],
  ['ratelimit', 'Rate limit: allowed vs blocked per second'],
  ['cache', 'Cache: hits vs misses per second'],
];

/** The dashboard page. Everything live is filled in by dashboard.js from the event stream. */
export function renderDashboardPage(opts: { assets: PageAssets; drill: boolean; signedIn: boolean }): string {
  const { assets } = opts;
  const charts = CHARTS.map(
    ([id, title]) => `
        <figure class="chart">
          <figcaption id="c-${id}-cap">${title}</figcaption>
          <div class="canvas-box"><canvas id="c-${id}" role="img" aria-labelledby="c-${id}-cap" aria-describedby="c-${id}-now"></canvas></div>
          <p class="now" id="c-${id}-now">No data yet.</p>
        </figure>`,
  ).join('');
  const drill = opts.drill
    ? `
      <section class="panel drill" id="drill" aria-labelledby="drill-h">
        <h2 id="drill-h">Circuit breaker test</h2>
        <p class="hint">Sends failing requests through the gateway until the service's circuits open, shows them failing fast, waits for the reset timeout, then sends healthy requests until they close again.</p>
        <form id="drill-form">
          <label for="drill-service">Service <select id="drill-service" name="service"></select></label>
          <button id="drill-run" type="submit">Run circuit breaker test</button>
          <details>
            <summary>Paths</summary>
            <div>
              <label for="drill-fail">Failing path <input id="drill-fail" name="failPath" value="/fail?status=503" size="18" spellcheck="false"></label>
              <label for="drill-ok">Healthy path <input id="drill-ok" name="okPath" value="/ok" size="10" spellcheck="false"></label>
            </div>
          </details>
        </form>
        <ol class="steps" id="drill-steps" aria-label="Drill steps">
          <li data-phase="burst">Failing burst: circuits count failures</li>
          <li data-phase="fail_fast">Circuits OPEN: requests fail fast</li>
          <li data-phase="waiting">Waiting for the reset timeout</li>
          <li data-phase="trials">HALF_OPEN: trial requests</li>
          <li data-phase="done">Circuits CLOSED again</li>
        </ol>
        <p id="drill-status" role="status" aria-live="polite"></p>
      </section>`
    : '';
  const logout = opts.signedIn
    ? `<form class="logout" method="post" action="/dashboard/logout"><button type="submit">Sign out</button></form>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Breakwater dashboard</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="${escapeHtml(assets.css)}">
  <script src="${escapeHtml(assets.chart)}" defer></script>
  <script src="${escapeHtml(assets.js)}" defer></script>
</head>
<body data-drill="${opts.drill}">
  <a class="skip" href="#breakers">Skip to circuit breakers</a>
  <header class="top">
    <h1>Breakwater <span class="sub">gateway dashboard</span></h1>
    <dl class="facts">
      <div><dt>Stream</dt><dd><span id="conn" class="conn conn-wait">Connecting…</span></dd></div>
      <div><dt>State store</dt><dd id="store">…</dd></div>
      <div><dt>Config version</dt><dd><code id="version">…</code></dd></div>
      <div><dt>Viewers</dt><dd id="viewers">…</dd></div>
    </dl>
    ${logout}
  </header>
  <main>
    <div class="col">
      <section class="panel" id="breakers" aria-labelledby="breakers-h">
        <h2 id="breakers-h">Circuit breakers <span class="sub">one per service instance</span></h2>
        <table class="breakers">
          <caption class="sr-only">Circuit breaker of each service instance: state, consecutive failures and time to the next trial</caption>
          <thead><tr><th scope="col">Service</th><th scope="col">Instance</th><th scope="col">State</th><th scope="col">Consecutive failures</th><th scope="col">Next trial</th></tr></thead>
          <tbody id="breaker-rows"></tbody>
        </table>
        <p id="breakers-empty" class="hint" hidden>No services are configured.</p>
        <figure class="chart states">
          <figcaption id="c-states-cap">State history (last 5 minutes)</figcaption>
          <div class="canvas-box"><canvas id="c-states" role="img" aria-labelledby="c-states-cap" aria-describedby="c-states-now"></canvas></div>
          <p class="now" id="c-states-now">No data yet.</p>
        </figure>
      </section>
      <section class="panel" id="traffic" aria-labelledby="traffic-h">
        <h2 id="traffic-h">Traffic <span class="sub">proxied requests, last 5 minutes, one point a second</span></h2>
        <p class="totals" id="totals"></p>
        <div class="charts">${charts}
        </div>
      </section>
    </div>
    <div class="col">${drill}
      <section class="panel" id="timeline-panel" aria-labelledby="timeline-h">
        <h2 id="timeline-h">Timeline <span class="sub">newest first</span></h2>
        <ol class="timeline" id="timeline"></ol>
        <p id="timeline-empty" class="hint">No breaker transitions, reloads or Redis events yet.</p>
      </section>
    </div>
  </main>
  <footer>Live over Server-Sent Events from <code>/dashboard/events</code>; Prometheus metrics at <code>/metrics</code>.</footer>
</body>
</html>
`;
}

/** The sign-in form shown when ADMIN_API_KEY is set. */
export function renderLoginPage(opts: { css: string; error?: string }): string {
  const error = opts.error ? `<p class="error" id="login-error" role="alert">${escapeHtml(opts.error)}</p>` : '';
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Sign in · Breakwater dashboard</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="${escapeHtml(opts.css)}">
</head>
<body>
  <main class="login">
    <h1>Breakwater dashboard</h1>
    ${error}
    <form method="post" action="/dashboard/login">
      <label for="key">Admin API key</label>
      <input id="key" name="key" type="password" autocomplete="current-password" required autofocus${opts.error ? ' aria-describedby="login-error"' : ''}>
      <button type="submit">Sign in</button>
    </form>
  </main>
</body>
</html>
`;
}
