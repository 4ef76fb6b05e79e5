// The printed result: one Markdown table (pasteable into the README) and the targets of the bench issue.

const num = (v, digits = 0) => (v === null || v === undefined || Number.isNaN(v) ? '–' : v.toFixed(digits));
const ms = (v) => (v === null || v === undefined ? '–' : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0));
const ratio = (v) => (v === null || v === undefined ? '–' : `${v.toFixed(v < 0.1 ? 3 : 2)}×`);
const mb = (b) => (b === null || b === undefined ? '–' : (b / 1048576).toFixed(0));

/** Markdown table of every row. */
export function table(rows) {
  const head = [
    'row',
    'req/s',
    'p50 ms',
    'p99 ms',
    'p99.9 ms',
    'errors',
    'RSS MB',
    'CPU µs/req',
    '× direct',
    '× naive',
    'notes',
  ];
  const body = rows.map((r) =>
    r.skipped
      ? [r.label, '–', '–', '–', '–', '–', '–', '–', '–', '–', r.skipped]
      : [
          r.label,
          num(r.rps),
          ms(r.p50Ms),
          ms(r.p99Ms),
          ms(r.p999Ms),
          String(r.errors),
          mb(r.rssBytes),
          num(r.cpuUsPerRequest),
          ratio(r.xDirect),
          ratio(r.xNaive),
          r.notes.join('; '),
        ],
  );
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const right = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const fmt = (cells) =>
    `| ${cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (right.has(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [fmt(head), rule, ...body.map(fmt)].join('\n');
}

/** Markdown table of the targets: what was asked, what was measured, met or not. */
export function targetsTable(targets) {
  const lines = ['| target | measured | met |', '| --- | --- | --- |'];
  for (const t of targets)
    lines.push(`| ${t.target} | ${t.measured} | ${t.met === null ? 'n/a' : t.met ? 'yes' : '**no**'} |`);
  return lines.join('\n');
}

/** Evaluates the bench issue's targets against the rows (keys as set in run.mjs). */
export function evaluateTargets(byKey) {
  const out = [];
  const rps = (k) => (byKey[k] && !byKey[k].skipped ? byKey[k].rps : null);
  const rel = (a, b) => (rps(a) !== null && rps(b) ? rps(a) / rps(b) : null);
  const add = (target, value, measured, pass) =>
    out.push({ target, measured: value === null ? 'n/a' : measured, met: value === null ? null : pass });
  // `met: null` (n/a) also when `pass` is null: not measurable in this run (e.g. QUICK).

  // CPU per request of the process under test, as a second view that noise barely moves.
  const cpu = (a, b) => {
    const x = byKey[a]?.cpuUsPerRequest;
    const y = byKey[b]?.cpuUsPerRequest;
    return x && y ? `; CPU/request ${(x / y).toFixed(2)}× theirs` : '';
  };
  const vsNaive = rel('breakwater', 'naiveAxios');
  add(
    'Breakwater (memory) ≥ 2× naive Nest + axios',
    vsNaive,
    `${vsNaive?.toFixed(2)}×${cpu('breakwater', 'naiveAxios')}`,
    vsNaive >= 2,
  );
  const vsUndici = rel('breakwater', 'nestUndici');
  add(
    'Breakwater (memory) ≥ 0.85× Nest + undici controller',
    vsUndici,
    `${vsUndici?.toFixed(2)}×${cpu('breakwater', 'nestUndici')}`,
    vsUndici >= 0.85,
  );
  const redis = rel('breakwaterRedis', 'breakwater');
  add(
    'Redis store ≥ 0.85× memory store',
    redis,
    `${redis?.toFixed(2)}×${cpu('breakwaterRedis', 'breakwater')}`,
    redis >= 0.85,
  );
  const open = rel('circuitOpen', 'nestHello');
  add('Circuit open ≥ 0.9× Nest hello', open, `${open?.toFixed(2)}×${cpu('circuitOpen', 'nestHello')}`, open >= 0.9);

  const r03 = byKey.resilienceBudget30;
  const r02 = byKey.resilienceDefault;
  const rd = byKey.resilienceDirect;
  const s03 = r03?.success ?? null;
  add(
    'Resilience, budget 0.3: success ≥ 99.5 %',
    s03,
    `${pct(s03)} (direct ${pct(rd?.success ?? null)})`,
    s03 >= 0.995,
  );
  const s02 = r02?.success ?? null;
  add('Resilience, default budget: success near 96 % (1 − 0.2 × 0.2)', s02, pct(s02), s02 >= 0.94);
  const rpr = r02?.retriesPerRequest ?? null;
  // The budget's 10 s window covers warm-up and row (≤ 10 s together): retries ≤ 0.2 × requests + 10/s × 10 s.
  const bound = r02?.requests ? (0.2 * (r02.requests + (r02.warmRequests ?? 0)) + 100) / r02.requests : null;
  add(
    'Resilience, default budget: retries/request ≤ 0.2 + floor (10/s over the 10 s window)',
    rpr,
    `${rpr?.toFixed(3)} (bound ${bound?.toFixed(3)})`,
    rpr !== null && bound !== null && rpr <= bound * 1.02,
  );

  const soak = byKey.soak?.soak;
  if (soak) {
    const growth = soak.rssStart && soak.rssEnd ? soak.rssEnd / soak.rssStart - 1 : null;
    add('Soak: RSS growth < 10 %', growth, `${pct(growth, 1)}`, growth < 0.1);
    const fdGrowth = soak.fdsStart !== null && soak.fdsEnd !== null ? soak.fdsEnd - soak.fdsStart : null;
    add('Soak: no fd growth', fdGrowth, `${soak.fdsStart} → ${soak.fdsEnd}`, fdGrowth <= 2);
    add('Soak: gateway RSS < 150 MB', soak.rssEnd, `${mb(soak.rssEnd)} MB`, soak.rssEnd < 150 * 1048576);
    // Gateway-caused 5xx: from its /metrics (500/502/504, and 503 only if a circuit moved) and,
    // as a cross-check, the client's 5xx that lack the upstream's X-Instance-Id. See run.mjs soakRow.
    const g = soak.gateway;
    const n = (v) => v.toLocaleString('en-US');
    const moved = g ? Object.values(g.circuitTransitions).reduce((a, b) => a + b, 0) : 0;
    const caused = g ? g.caused5xx + soak.client.gateway5xx : null;
    add(
      'Soak: zero 5xx caused by the gateway (upstream failing 20 %)',
      caused,
      g &&
        (moved === 0
          ? `${g.caused5xx} (metrics: 500/502/504 = ${g.caused5xx}, no circuit transition, so all ${n(g.served503)} 503s are the upstream's); client: ${soak.client.gateway5xx} 5xx without X-Instance-Id`
          : `${n(soak.client.gateway5xx)} by the client (5xx without X-Instance-Id: ${Object.entries(
              soak.client.gatewayCodes,
            )
              .map(([k, v]) => `${n(v)} ${k}`)
              .join(
                ', ',
              )}); metrics: 500/502/504 = ${g.served5xx - g.served503}, circuit opened (${moved} transitions)`),
      caused === 0,
    );
    const cap = soak.storeCap;
    const full = soak.walkClients >= cap;
    add(
      `Soak: rate-limit memory store full (${n(cap)} client IPs) before the measured part, new clients after: none blocked, RSS growth < 10 %`,
      g ? soak.clientAddresses : null,
      g &&
        `${n(soak.clientAddresses)} IPs (walk ${n(soak.walkClients)}${full ? '' : ', below the cap: store never full'}, then ${n(soak.clientAddresses - soak.walkClients)} new${full ? ', each evicting one' : ''}); ${n(g.rateLimitAllowed)} allowed / ${n(soak.client.sent)} sent, ${g.rateLimitBlocked} blocked; RSS fresh ${mb(soak.rssFresh)}, after the walk ${mb(soak.rssAfterWalk)}, soak ${mb(soak.rssStart)} → ${mb(soak.rssEnd)} MB`,
      full ? g.rateLimitBlocked === 0 && soak.rssEnd < 1.1 * soak.rssStart : null,
    );
    out.push({
      target: 'Soak: event-loop lag p99 stable (figures only)',
      measured: `${lagMs(soak.lagP99MsStart)} → ${lagMs(soak.lagP99MsEnd)} ms`,
      met: null,
    });
  }
  return out;
}

const lagMs = (v) => (v === null || v === undefined ? 'n/a' : v.toFixed(1));

export function pct(v, digits = 2) {
  return v === null || v === undefined ? 'n/a' : `${(v * 100).toFixed(digits)} %`;
}

export { mb, ms };
