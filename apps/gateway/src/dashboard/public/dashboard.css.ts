/** The dashboard's stylesheet (served at /dashboard/assets/dashboard.css). Contrast ≥ 4.5:1 for text, light and dark. */
export const DASHBOARD_CSS = String.raw`
:root {
  color-scheme: light dark;
  --bg: #f6f8fa; --panel: #ffffff; --text: #1f2328; --muted: #57606a; --border: #d0d7de; --focus: #0969da;
  --closed: #1a7f37; --half: #9a6700; --open: #cf222e; --s1: #0969da; --s2: #bc4c00; --grid: rgba(31, 35, 40, 0.1);
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --panel: #161b22; --text: #e6edf3; --muted: #9198a1; --border: #30363d; --focus: #4493f8;
    --s1: #4493f8; --s2: #f0883e; --grid: rgba(230, 237, 243, 0.12);
  }
}
* { box-sizing: border-box; }
html, body { margin: 0; }
body { background: var(--bg); color: var(--text); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
a { color: var(--focus); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.skip { position: absolute; left: 8px; top: -40px; background: var(--panel); padding: 6px 10px; border: 1px solid var(--border); }
.skip:focus { top: 8px; }
code { font: 12.5px/1.3 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }

.top { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 24px; padding: 10px 20px; background: var(--panel); border-bottom: 1px solid var(--border); }
.top h1 { font-size: 18px; margin: 0; }
.top h1 .sub { color: var(--muted); font-weight: 400; font-size: 14px; margin-left: 6px; }
.facts { display: flex; flex-wrap: wrap; gap: 4px 20px; margin: 0; flex: 1; }
.facts div { display: flex; gap: 6px; align-items: baseline; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; font-weight: 600; }
.logout button { font: inherit; }

.conn::before { content: ""; display: inline-block; width: 9px; height: 9px; border-radius: 50%; margin-right: 6px; background: var(--muted); }
.conn-live::before { background: var(--closed); }
.conn-wait::before { background: var(--half); }
.conn-down::before { background: var(--open); }
.store-degraded { color: var(--open); }

main { display: grid; grid-template-columns: minmax(0, 2fr) minmax(300px, 1fr); gap: 16px; padding: 16px 20px; align-items: start; }
.col { display: grid; gap: 16px; min-width: 0; }
section.panel { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 12px 16px; min-width: 0; }
section.panel h2 { font-size: 15px; margin: 0 0 8px; }
section.panel h2 .sub { color: var(--muted); font-weight: 400; font-size: 13px; margin-left: 6px; }
.hint { color: var(--muted); margin: 0 0 8px; }

table.breakers { width: 100%; border-collapse: collapse; }
table.breakers th, table.breakers td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--border); vertical-align: middle; }
table.breakers th { color: var(--muted); font-weight: 600; font-size: 12.5px; }
table.breakers td.num { font-variant-numeric: tabular-nums; }
.badge { display: inline-flex; align-items: center; gap: 5px; min-width: 104px; padding: 2px 9px; border-radius: 999px; color: #fff; font-weight: 700; font-size: 12.5px; letter-spacing: 0.02em; }
.badge .icon { font-size: 12px; }
.state-CLOSED { background: var(--closed); }
.state-HALF_OPEN { background: var(--half); }
.state-OPEN { background: var(--open); }
.badge.small { min-width: 0; padding: 0 7px; font-size: 11.5px; }

.charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 12px 16px; }
figure.chart { margin: 0; min-width: 0; }
figure.chart figcaption { font-weight: 600; font-size: 13px; }
.canvas-box { position: relative; height: 150px; }
.now { margin: 2px 0 0; color: var(--muted); font-size: 12.5px; font-variant-numeric: tabular-nums; }
.totals { color: var(--muted); margin: 0 0 8px; font-variant-numeric: tabular-nums; }

.drill form { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: end; }
.drill label { display: grid; gap: 2px; font-weight: 600; font-size: 12.5px; }
.drill select, .drill input { font: inherit; padding: 4px 6px; border: 1px solid var(--border); border-radius: 6px; background: var(--panel); color: var(--text); min-width: 0; }
.drill details { flex-basis: 100%; }
.drill details > div { display: flex; flex-wrap: wrap; gap: 8px 12px; margin-top: 6px; }
.drill button { font: inherit; font-weight: 600; padding: 6px 14px; border-radius: 6px; border: 1px solid var(--s1); background: var(--s1); color: #fff; cursor: pointer; }
.drill button:disabled { opacity: 0.6; cursor: progress; }
.steps { list-style: none; counter-reset: step; margin: 10px 0 0; padding: 0; display: grid; gap: 4px; }
.steps li { counter-increment: step; color: var(--muted); padding-left: 26px; position: relative; }
.steps li::before { content: counter(step); position: absolute; left: 0; top: 1px; width: 18px; height: 18px; border-radius: 50%; border: 1px solid var(--border); font-size: 11px; text-align: center; line-height: 17px; }
.steps li.done { color: var(--text); }
.steps li.done::before { content: "\2713"; background: var(--closed); border-color: var(--closed); color: #fff; }
.steps li[aria-current="step"] { color: var(--text); font-weight: 700; }
.steps li[aria-current="step"]::before { background: var(--s1); border-color: var(--s1); color: #fff; }
.steps li.failed::before { content: "!"; background: var(--open); border-color: var(--open); color: #fff; }
#drill-status { margin: 8px 0 0; min-height: 1.45em; font-variant-numeric: tabular-nums; }

.timeline { list-style: none; margin: 0; padding: 0; max-height: 560px; overflow-y: auto; }
.timeline li { display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; padding: 6px 0; border-bottom: 1px solid var(--border); }
.timeline time { color: var(--muted); font-variant-numeric: tabular-nums; font-size: 12.5px; }
.timeline .kind { font-weight: 700; font-size: 12.5px; }
.timeline .what { grid-column: 2; overflow-wrap: anywhere; }

footer { padding: 0 20px 16px; color: var(--muted); font-size: 12.5px; }

.login { display: block; max-width: 380px; margin: 12vh auto; background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 20px 24px; }
.login h1 { font-size: 18px; margin: 0 0 12px; }
.login label { display: block; font-weight: 600; margin-bottom: 4px; }
.login input { width: 100%; font: inherit; padding: 6px 8px; border: 1px solid var(--border); border-radius: 6px; background: var(--bg); color: var(--text); }
.login button { margin-top: 12px; font: inherit; font-weight: 600; padding: 6px 14px; border-radius: 6px; border: 1px solid var(--s1); background: var(--s1); color: #fff; cursor: pointer; }
.login .error { color: var(--open); font-weight: 600; }

figure.states { margin-top: 12px; }
figure.states .canvas-box { height: 130px; }

@media (max-width: 980px) {
  main { grid-template-columns: minmax(0, 1fr); }
  /* One column: breakers, then the drill, then traffic and the timeline. */
  .col { display: contents; }
  #breakers { order: 1; }
  #drill { order: 2; }
  #traffic { order: 3; }
  #timeline-panel { order: 4; }
}
@media (max-width: 640px) {
  .top, main { padding-left: 10px; padding-right: 10px; }
  .charts { grid-template-columns: minmax(0, 1fr); }
  table.breakers thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.breakers, table.breakers tbody, table.breakers tr, table.breakers td { display: block; width: 100%; }
  table.breakers tr { border-bottom: 1px solid var(--border); padding: 6px 0; }
  table.breakers td { border: 0; padding: 2px 0; display: flex; gap: 8px; }
  table.breakers td::before { content: attr(data-label); color: var(--muted); min-width: 130px; font-size: 12.5px; }
}
@media (prefers-reduced-motion: reduce) { * { scroll-behavior: auto !important; } }
`;
