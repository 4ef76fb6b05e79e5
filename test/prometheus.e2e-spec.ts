// The operator's monitoring stack (issue 4, item 5): Prometheus configs, recording and alert rules with their
// promtool unit tests, the runbook they link, and the Grafana dashboard, all over the metrics of CONTRACT.md §5.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import promClient from 'prom-client';
import { parse, stringify } from 'yaml';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PROM_DIR = join(ROOT, 'deploy/prometheus');
const GRAFANA_DIR = join(ROOT, 'deploy/grafana');
const RULE_FILES = ['recording.yml', 'alerts.yml'];
const RULE_TEST_FILES = ['recording.test.yml', 'alerts.test.yml'];
const JOB = 'breakwater-gateway';

/** CONTRACT.md §5: metric → label → allowed values (`null`: any value from the routes file or the request). */
const CONTRACT_METRICS: Record<
  string,
  { histogram?: true; labels: Record<string, readonly string[] | RegExp | null> }
> = {
  gateway_http_requests_total: { labels: { service: null, method: null, status: /^\d{3}$/ } },
  gateway_http_request_duration_seconds: { histogram: true, labels: { service: null, method: null } },
  gateway_upstream_requests_total: {
    labels: {
      service: null,
      upstream: null,
      outcome: ['success', 'http_4xx', 'http_5xx', 'timeout', 'connect_failure'],
    },
  },
  gateway_circuit_state: { labels: { service: null, upstream: null } },
  gateway_circuit_transitions_total: {
    labels: {
      service: null,
      upstream: null,
      from: ['closed', 'open', 'half_open'],
      to: ['closed', 'open', 'half_open'],
    },
  },
  gateway_retries_total: { labels: { service: null, reason: /^(connect_failure|timeout|http_\d{3})$/ } },
  gateway_retry_budget_exhausted_total: { labels: { service: null } },
  gateway_rate_limit_decisions_total: { labels: { service: null, decision: ['allowed', 'blocked'] } },
  gateway_redis_fallback_active: { labels: {} },
  gateway_cache_lookups_total: { labels: { service: null, result: ['hit', 'miss', 'stale', 'bypass'] } },
  gateway_config_reloads_total: { labels: { result: ['success', 'failure'] } },
};
/** Labels Prometheus adds to every scraped series. */
const TARGET_LABELS = ['job', 'instance'];
const ALL_LABELS = new Set([
  ...TARGET_LABELS,
  'le',
  ...Object.values(CONTRACT_METRICS).flatMap((m) => Object.keys(m.labels)),
]);

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}
interface RuleTestFile {
  rule_files: string[];
  tests: {
    name: string;
    alert_rule_test?: { alertname: string; eval_time: string; exp_alerts: { exp_labels: Record<string, string> }[] }[];
    promql_expr_test?: { expr: string }[];
  }[];
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { expr: string; refId: string; datasource?: { type: string; uid: string } }[];
  fieldConfig?: { defaults: { mappings?: { type: string; options: Record<string, { text: string }> }[] } };
}

const readYaml = <T>(path: string): T => parse(readFileSync(path, 'utf8')) as T;
const rulesOf = (file: string): Rule[] => readYaml<RuleFile>(join(PROM_DIR, file)).groups.flatMap((g) => g.rules);
const recordingRules = (): Rule[] => rulesOf('recording.yml');
const alertRules = (): Rule[] => rulesOf('alerts.yml');
const dashboard = (): { panels: Panel[]; templating: { list: { name: string; type: string; query: unknown }[] } } =>
  JSON.parse(readFileSync(join(GRAFANA_DIR, 'dashboards/breakwater.json'), 'utf8'));
const dataPanels = (): Panel[] => dashboard().panels.filter((p) => p.type !== 'row');

/** prom-client's default metric names, from prom-client itself (what the gateway exposes beside §5). */
async function defaultMetricNames(): Promise<Set<string>> {
  const registry = new promClient.Registry();
  promClient.collectDefaultMetrics({ register: registry });
  const names = (await registry.getMetricsAsJSON()).map((m) => m.name);
  registry.clear();
  return new Set(names.flatMap((n) => [n, `${n}_bucket`, `${n}_sum`, `${n}_count`]));
}

interface PromtoolResult {
  code: number;
  stdout: string;
  /** stdout and stderr */
  output: string;
}
/** Runs promtool; resolves with its exit code and output (never rejects on a non-zero exit). */
function promtool(args: string[], cwd = PROM_DIR): Promise<PromtoolResult> {
  return new Promise((done, fail) => {
    execFile('promtool', args, { cwd, timeout: 20_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        fail(new Error(`promtool could not run (${error.message}): run scripts/ensure-tools.sh`));
        return;
      }
      done({ code: typeof error?.code === 'number' ? error.code : 0, stdout, output: `${stdout}${stderr}` });
    });
  });
}

/** The PromQL of a Grafana target or variable, with Grafana's variables replaced by values Prometheus accepts. */
const grafanaToPromQL = (expr: string): string =>
  expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__interval', '1m')
    .replace(/\$\{?(job|instance|service)\}?/g, '.+');

/** Names of metrics and recording rules in a PromQL expression (string literals removed first). */
function seriesNames(expr: string): string[] {
  const code = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  const identifiers = code.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  return identifiers.filter((id) => id.includes(':') || /^(gateway|process|nodejs)_/.test(id));
}

/** The contract metric a series name belongs to (histogram children included), or undefined. */
function contractMetricOf(name: string): string | undefined {
  if (CONTRACT_METRICS[name]) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return CONTRACT_METRICS[base]?.histogram ? base : undefined;
}

/**
 * Every problem with the names and labels an expression uses: series names must be §5 metrics (the brief's
 * `gateway_[a-z_]+`), prom-client defaults or recording rules; label matchers on §5 metrics must use their labels
 * and listed values; grouping labels must exist on some metric.
 */
function problemsIn(expr: string, defaults: Set<string>, recorded: Set<string>): string[] {
  const problems: string[] = [];
  for (const name of seriesNames(expr)) {
    if (name.includes(':')) {
      if (!recorded.has(name)) problems.push(`${name}: not a recording rule of recording.yml`);
    } else if (name.startsWith('gateway_')) {
      if (!contractMetricOf(name)) problems.push(`${name}: not a metric of CONTRACT.md §5`);
    } else if (!defaults.has(name)) {
      problems.push(`${name}: not a prom-client default metric`);
    }
  }
  for (const loose of expr.match(/gateway_[a-z_]+/g) ?? []) {
    const embedded = expr.includes(`:${loose}`);
    if (!embedded && !contractMetricOf(loose)) problems.push(`${loose}: not a metric of CONTRACT.md §5`);
  }
  for (const [, name, body] of expr.matchAll(/\b(gateway_[a-z_]+)\{([^}]*)\}/g)) {
    const metric = contractMetricOf(name);
    if (!metric) continue;
    const allowed = CONTRACT_METRICS[metric].labels;
    for (const [, label, op, value] of body.matchAll(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)) {
      const known = label in allowed || TARGET_LABELS.includes(label) || (label === 'le' && name.endsWith('_bucket'));
      if (!known) problems.push(`${name}{${label}}: ${metric} has no label ${label}`);
      const values = allowed[label];
      const exact = op === '=' || op === '!=';
      if (exact && Array.isArray(values) && !values.includes(value)) problems.push(`${name}{${label}="${value}"}`);
      if (exact && values instanceof RegExp && !values.test(value)) problems.push(`${name}{${label}="${value}"}`);
    }
  }
  for (const [, list] of expr.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)) {
    for (const label of list
      .split(',')
      .map((l) => l.trim())
      .filter(Boolean)) {
      if (!ALL_LABELS.has(label)) problems.push(`grouping label ${label}: no metric has it`);
    }
  }
  return problems;
}

/** GitHub's anchor for a Markdown heading. */
const slug = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

describe('monitoring stack (deploy/prometheus, deploy/grafana, docs/runbook.md)', () => {
  let work: string;
  let defaults: Set<string>;
  let recorded: Set<string>;

  beforeAll(async () => {
    const version = await promtool(['--version']);
    if (version.code !== 0) throw new Error(`promtool --version failed: ${version.output}`);
    work = mkdtempSync(join(tmpdir(), 'bw-prometheus-'));
    defaults = await defaultMetricNames();
    recorded = new Set(recordingRules().map((r) => r.record!));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  describe('Prometheus configuration', () => {
    it('prometheus.yml passes promtool check config, with its rule files resolved and checked', async () => {
      const { code, output } = await promtool(['check', 'config', 'prometheus.yml']);
      expect(output).toContain('SUCCESS: 2 rule files found');
      for (const file of RULE_FILES) expect(output).toMatch(new RegExp(`Checking ${file}\\s+SUCCESS`));
      expect(code).toBe(0);
      expect(readYaml<{ rule_files: string[] }>(join(PROM_DIR, 'prometheus.yml')).rule_files).toEqual(RULE_FILES);
    });

    it('the development job scrapes the compose service gateway:8080 at /metrics', () => {
      const config = readYaml<{
        scrape_configs: { job_name: string; metrics_path?: string; static_configs: unknown }[];
      }>(join(PROM_DIR, 'prometheus.yml'));
      expect(config.scrape_configs.find((j) => j.job_name === JOB)).toEqual({
        job_name: JOB,
        metrics_path: '/metrics',
        static_configs: [{ targets: ['gateway:8080'] }],
      });
    });

    it('the Kubernetes example keeps only annotated, running gateway pods, on the annotated port and path', async () => {
      // Debian's promtool is built without kubernetes_sd_configs, so the example's relabelling runs on the same
      // pod meta labels served by file_sd, and the rest of the file is checked as is.
      const config = readYaml<{
        scrape_configs: { job_name: string; kubernetes_sd_configs?: { role: string }[]; file_sd_configs?: unknown }[];
        rule_files: string[];
      }>(join(PROM_DIR, 'prometheus-kubernetes.yml'));
      const job = config.scrape_configs.find((j) => j.job_name === JOB)!;
      expect(job.kubernetes_sd_configs).toEqual([{ role: 'pod' }]);
      delete job.kubernetes_sd_configs;
      job.file_sd_configs = [{ files: [join(work, 'pods.json')] }];
      config.rule_files = config.rule_files.map((f) => join(PROM_DIR, f));
      writeFileSync(join(work, 'prometheus-kubernetes.yml'), stringify(config));
      const pod = (address: string, meta: Record<string, string>) => ({
        targets: [address],
        labels: Object.fromEntries(Object.entries(meta).map(([k, v]) => [`__meta_kubernetes_${k}`, v])),
      });
      const gateway = {
        pod_annotation_prometheus_io_scrape: 'true',
        pod_annotation_prometheus_io_port: '9090',
        pod_label_app_kubernetes_io_name: JOB,
        pod_phase: 'Running',
        namespace: 'breakwater',
      };
      writeFileSync(
        join(work, 'pods.json'),
        JSON.stringify([
          pod('10.0.0.5:8080', { ...gateway, pod_name: 'gw-a' }), // proxy port: rewritten to the annotated 9090
          pod('10.0.0.6', { ...gateway, pod_name: 'gw-b', pod_annotation_prometheus_io_path: '/custom' }),
          pod('10.0.0.7:8080', { ...gateway, pod_name: 'gw-c', pod_phase: 'Pending' }),
          pod('10.0.0.8:9090', { ...gateway, pod_name: 'gw-d', pod_annotation_prometheus_io_scrape: 'false' }),
          pod('10.0.0.9:8001', { ...gateway, pod_name: 'flaky', pod_label_app_kubernetes_io_name: 'flaky-upstream' }),
        ]),
      );

      const check = await promtool(['check', 'config', 'prometheus-kubernetes.yml'], work);
      expect(check.output).toContain('SUCCESS: 2 rule files found');
      expect(check.code).toBe(0);
      // promtool waits the whole --timeout for updates; file_sd sends its one update at once.
      const sd = await promtool(['check', 'service-discovery', '--timeout=2s', 'prometheus-kubernetes.yml', JOB], work);
      expect(sd.code).toBe(0);
      const targets = JSON.parse(sd.stdout) as {
        labels: Record<string, string>;
      }[];
      const kept = targets.map((t) => t.labels).filter((l) => Object.keys(l).length > 0);
      // promtool prints targets in Go map order: sort them.
      const summary = kept.map((l) => [l.instance, l.__metrics_path__, l.pod, l.namespace, l.job]).sort();
      expect(summary).toEqual([
        ['10.0.0.5:9090', '/metrics', 'gw-a', 'breakwater', JOB],
        ['10.0.0.6:9090', '/custom', 'gw-b', 'breakwater', JOB],
      ]);
    }, 10_000);
  });

  describe('rules', () => {
    it('every rules file passes promtool check rules', async () => {
      const { code, output } = await promtool(['check', 'rules', ...RULE_FILES]);
      expect(output).toContain(`SUCCESS: ${recordingRules().length} rules found`);
      expect(output).toContain(`SUCCESS: ${alertRules().length} rules found`);
      expect(code).toBe(0);
    });

    it('the unit tests pass promtool test rules', async () => {
      const { code, output } = await promtool(['test', 'rules', ...RULE_TEST_FILES]);
      expect(output).not.toContain('FAILED');
      expect(output.match(/SUCCESS/g)).toHaveLength(RULE_TEST_FILES.length);
      expect(code).toBe(0);
    });

    it('promtool test rules fails a wrong expectation (a circuit open for 30 s does not fire)', async () => {
      const wrong = {
        rule_files: RULE_FILES.map((f) => join(PROM_DIR, f)),
        evaluation_interval: '15s',
        tests: [
          {
            name: 'wrong on purpose',
            interval: '15s',
            input_series: [{ series: 'gateway_circuit_state{service="a",upstream="h:1"}', values: '0 2 2 0+0x10' }],
            alert_rule_test: [
              { eval_time: '2m', alertname: 'BreakwaterCircuitOpen', exp_alerts: [{ exp_labels: { service: 'a' } }] },
            ],
          },
        ],
      };
      writeFileSync(join(work, 'wrong.test.yml'), stringify(wrong));
      const { code, output } = await promtool(['test', 'rules', join(work, 'wrong.test.yml')]);
      expect(output).toContain('FAILED');
      expect(code).not.toBe(0);
    });

    it('every metric and label the rules use is in CONTRACT.md §5, a prom-client default or a recording rule', () => {
      const problems = [...recordingRules(), ...alertRules()].flatMap((r) =>
        problemsIn(r.expr, defaults, recorded).map((p) => `${r.record ?? r.alert}: ${p}`),
      );
      expect(problems).toEqual([]);
      // The checker itself catches what it is for.
      expect(problemsIn('rate(gateway_http_request_total[5m])', defaults, recorded)).not.toEqual([]);
      expect(problemsIn('gateway_circuit_state{instance_name="x"}', defaults, recorded)).not.toEqual([]);
      expect(problemsIn('gateway_rate_limit_decisions_total{decision="denied"}', defaults, recorded)).not.toEqual([]);
      expect(problemsIn('sum by (upsteam) (gateway_circuit_state)', defaults, recorded)).not.toEqual([]);
      expect(problemsIn('service:gateway_nope:rate5m', defaults, recorded)).not.toEqual([]);
      expect(problemsIn('process_resident_memory', defaults, recorded)).not.toEqual([]);
      expect(problemsIn('nodejs_eventloop_lag_p99_seconds', defaults, recorded)).toEqual([]);
    });

    it('the rules ask for what the brief names: circuit open 1m, 5xx ratio without the gateway, Redis fallback 1m, reload failures', () => {
      const byName = new Map(alertRules().map((r) => [r.alert!, r]));
      expect(byName.get('BreakwaterCircuitOpen')).toMatchObject({ for: '1m' });
      expect(byName.get('BreakwaterCircuitOpen')!.expr).toMatch(/gateway_circuit_state[\s\S]*== 2/);
      expect(byName.get('BreakwaterRedisFallbackActive')).toMatchObject({
        expr: 'gateway_redis_fallback_active == 1',
        for: '1m',
      });
      expect(byName.get('BreakwaterConfigReloadFailed')!.expr).toBe(
        'increase(gateway_config_reloads_total{result="failure"}[10m]) > 0',
      );
      expect(byName.get('BreakwaterServerErrorRatioHigh')!.expr).toContain('{service!="gateway"}');
      expect(byName.get('BreakwaterLatencyP99High')!.expr).toContain('p99');
      const p99 = recordingRules().find((r) => r.record === 'service:gateway_http_request_duration_seconds:p99_5m')!;
      expect(p99.expr).toMatch(/histogram_quantile\(0\.99, .*gateway_http_request_duration_seconds_bucket/);
      for (const name of [
        'BreakwaterRateLimitBlockRatioHigh',
        'BreakwaterRetryBudgetExhausted',
        'BreakwaterAllCircuitsOpen',
      ]) {
        expect(byName.has(name)).toBe(true);
      }
    });

    it('every alert has a severity, a summary, a description and a runbook link to an existing section', () => {
      const runbook = readFileSync(join(ROOT, 'docs/runbook.md'), 'utf8');
      const anchors = new Set([...runbook.matchAll(/^#{1,6} (.+)$/gm)].map(([, h]) => slug(h)));
      for (const rule of alertRules()) {
        expect({ alert: rule.alert, severity: rule.labels?.severity }).toEqual({
          alert: rule.alert,
          severity: expect.stringMatching(/^(critical|warning|info)$/),
        });
        expect(Object.keys(rule.annotations ?? {}).sort()).toEqual(['description', 'runbook_url', 'summary']);
        const anchor = /^docs\/runbook\.md#([a-z0-9-]+)$/.exec(rule.annotations!.runbook_url)?.[1];
        expect({ alert: rule.alert, anchor: anchor && anchors.has(anchor) ? anchor : 'missing' }).toEqual({
          alert: rule.alert,
          anchor: rule.alert!.toLowerCase(),
        });
      }
      // One runbook section per alert, none left over.
      const sections = [...runbook.matchAll(/^## (Breakwater\w+)$/gm)].map(([, h]) => h).sort();
      expect(sections).toEqual([...new Set(alertRules().map((r) => r.alert!))].sort());
    });

    it('every alert (each severity) has a test that fires it and one where it must not fire', () => {
      const tests = readYaml<RuleTestFile>(join(PROM_DIR, 'alerts.test.yml')).tests;
      const cases = tests.flatMap((t) => t.alert_rule_test ?? []);
      const fired = new Set(cases.flatMap((c) => c.exp_alerts.map((a) => `${c.alertname}/${a.exp_labels.severity}`)));
      const silent = new Set(cases.filter((c) => c.exp_alerts.length === 0).map((c) => c.alertname));
      for (const rule of alertRules()) {
        expect({
          rule: `${rule.alert}/${rule.labels!.severity}`,
          fires: fired.has(`${rule.alert}/${rule.labels!.severity}`),
        }).toEqual({ rule: `${rule.alert}/${rule.labels!.severity}`, fires: true });
        expect({ rule: rule.alert, silentCase: silent.has(rule.alert!) }).toEqual({
          rule: rule.alert,
          silentCase: true,
        });
      }
      expect(readYaml<RuleTestFile>(join(PROM_DIR, 'alerts.test.yml')).rule_files).toEqual(RULE_FILES);
    });

    it('every recording rule is checked by a promql_expr_test', () => {
      const tests = readYaml<RuleTestFile>(join(PROM_DIR, 'recording.test.yml')).tests;
      const tested = new Set(tests.flatMap((t) => t.promql_expr_test ?? []).map((t) => t.expr.trim()));
      expect([...recorded].filter((name) => !tested.has(name))).toEqual([]);
    });
  });

  describe('Grafana', () => {
    it('provisions the Prometheus datasource and the dashboards folder', () => {
      const ds = readYaml<{ datasources: { type: string; url: string; uid: string }[] }>(
        join(GRAFANA_DIR, 'provisioning/datasources/prometheus.yml'),
      );
      expect(ds.datasources).toEqual([
        expect.objectContaining({ type: 'prometheus', url: 'http://prometheus:9090', uid: 'prometheus' }),
      ]);
      const providers = readYaml<{ providers: { type: string; options: { path: string } }[] }>(
        join(GRAFANA_DIR, 'provisioning/dashboards/breakwater.yml'),
      ).providers;
      expect(providers).toEqual([
        expect.objectContaining({
          type: 'file',
          options: expect.objectContaining({ path: '/var/lib/grafana/dashboards' }),
        }),
      ]);
    });

    it('the dashboard parses; every panel has a Prometheus datasource and at least one query; ids are unique', () => {
      const board = dashboard();
      const ids = board.panels.map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      const panels = dataPanels();
      expect(panels.length).toBeGreaterThanOrEqual(15);
      for (const panel of panels) {
        const where = `${panel.id} ${panel.title}`;
        expect({ where, datasource: panel.datasource }).toEqual({
          where,
          datasource: { type: 'prometheus', uid: '${datasource}' },
        });
        expect({ where, targets: (panel.targets ?? []).length > 0 }).toEqual({ where, targets: true });
        for (const target of panel.targets ?? []) {
          expect({ where, expr: target.expr.trim().length > 0, ds: target.datasource?.type }).toEqual({
            where,
            expr: true,
            ds: 'prometheus',
          });
        }
      }
      const variables = board.templating.list.map((v) => `${v.name}:${v.type}`);
      expect(variables).toEqual(expect.arrayContaining(['datasource:datasource', 'service:query']));
    });

    it('shows what the operator needs: circuit state mapped 0 closed / 1 half-open / 2 open, process metrics', () => {
      const panels = dataPanels();
      const circuit = panels.find(
        (p) => p.targets!.some((t) => /\(gateway_circuit_state\{/.test(t.expr)) && p.type === 'state-timeline',
      )!;
      expect(circuit).toBeDefined();
      const mapping = circuit.fieldConfig!.defaults.mappings!.find((m) => m.type === 'value')!.options;
      expect(Object.fromEntries(Object.entries(mapping).map(([v, o]) => [v, o.text]))).toEqual({
        '0': 'closed',
        '1': 'half-open',
        '2': 'open',
      });
      const used = new Set(panels.flatMap((p) => p.targets!.flatMap((t) => seriesNames(t.expr))));
      for (const metric of [
        ...Object.keys(CONTRACT_METRICS).filter((m) => !CONTRACT_METRICS[m].histogram),
        'gateway_http_request_duration_seconds_bucket',
        'process_resident_memory_bytes',
        'process_cpu_seconds_total',
        'nodejs_eventloop_lag_p99_seconds',
      ]) {
        expect({ metric, shown: used.has(metric) }).toEqual({ metric, shown: true });
      }
    });

    it('every metric and label the dashboard uses is in CONTRACT.md §5 or a prom-client default', () => {
      const problems = dataPanels().flatMap((p) =>
        p.targets!.flatMap((t) => problemsIn(t.expr, defaults, new Set()).map((m) => `${p.title}: ${m}`)),
      );
      for (const variable of dashboard().templating.list.filter((v) => v.type === 'query')) {
        const query = (variable.query as { query: string }).query;
        const [, selector, label] = /^label_values\((.+),\s*(\w+)\)$/.exec(query) ?? [];
        const metric = contractMetricOf(/^\w+/.exec(selector ?? '')?.[0] ?? '');
        if (!metric) problems.push(`variable ${variable.name}: ${query}`);
        else if (!(label in CONTRACT_METRICS[metric].labels) && !TARGET_LABELS.includes(label))
          problems.push(`variable ${variable.name}: ${metric} has no label ${label}`);
        else problems.push(...problemsIn(selector, defaults, new Set()).map((m) => `variable ${variable.name}: ${m}`));
      }
      expect(problems).toEqual([]);
    });

    it('every dashboard query is valid PromQL that returns data from series shaped like the gateway exposes', async () => {
      // Each query becomes absent(<query>) in an alert rule: promtool check rules parses it, and promtool test rules
      // proves it returns something (no alert) over one series per contract label value.
      const queries = dataPanels().flatMap((p) =>
        p.targets!.map((t) => ({ name: `Panel_${p.id}_${t.refId}`, title: p.title, expr: grafanaToPromQL(t.expr) })),
      );
      const rules = {
        groups: [{ name: 'dashboard', rules: queries.map((q) => ({ alert: q.name, expr: `absent(${q.expr})` })) }],
      };
      writeFileSync(join(work, 'dashboard.rules.yml'), stringify(rules));
      const checked = await promtool(['check', 'rules', 'dashboard.rules.yml'], work);
      expect(checked.output).toContain(`SUCCESS: ${queries.length} rules found`);

      const target = `job="${JOB}",instance="gw-1:9090"`;
      const series: { series: string; values: string }[] = [];
      const add = (name: string, labels: string, values = '0+10x40') =>
        series.push({ series: `${name}{${[target, labels].filter(Boolean).join(',')}}`, values });
      add('gateway_http_requests_total', 'service="flaky",method="GET",status="200"');
      add('gateway_http_requests_total', 'service="flaky",method="GET",status="503"', '0+1x40');
      for (const le of ['0.1', '1', '+Inf'])
        add('gateway_http_request_duration_seconds_bucket', `service="flaky",method="GET",le="${le}"`);
      for (const outcome of CONTRACT_METRICS.gateway_upstream_requests_total.labels.outcome as string[])
        add('gateway_upstream_requests_total', `service="flaky",upstream="127.0.0.1:8001",outcome="${outcome}"`);
      add('gateway_circuit_state', 'service="flaky",upstream="127.0.0.1:8001"', '2+0x40');
      add('gateway_circuit_transitions_total', 'service="flaky",upstream="127.0.0.1:8001",from="closed",to="open"');
      add('gateway_retries_total', 'service="flaky",reason="http_503"');
      add('gateway_retry_budget_exhausted_total', 'service="flaky"');
      for (const decision of ['allowed', 'blocked'])
        add('gateway_rate_limit_decisions_total', `service="flaky",decision="${decision}"`);
      for (const result of ['hit', 'miss', 'stale', 'bypass'])
        add('gateway_cache_lookups_total', `service="flaky",result="${result}"`);
      add('gateway_redis_fallback_active', '', '0+0x40');
      for (const result of ['success', 'failure']) add('gateway_config_reloads_total', `result="${result}"`);
      for (const name of [
        'process_resident_memory_bytes',
        'nodejs_heap_size_used_bytes',
        'nodejs_eventloop_lag_p99_seconds',
      ])
        add(name, '', '1+0x40');
      add('process_cpu_seconds_total', '');
      const tests = {
        rule_files: ['dashboard.rules.yml'],
        evaluation_interval: '15s',
        tests: [
          {
            name: 'every dashboard query returns data',
            interval: '15s',
            input_series: series,
            alert_rule_test: queries.map((q) => ({ eval_time: '10m', alertname: q.name, exp_alerts: [] })),
          },
        ],
      };
      writeFileSync(join(work, 'dashboard.test.yml'), stringify(tests));
      const tested = await promtool(['test', 'rules', 'dashboard.test.yml'], work);
      expect(tested.output).toContain('SUCCESS');
      expect(tested.code).toBe(0);
    });
  });
});
