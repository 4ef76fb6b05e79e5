/**
 * The dashboard's browser script (served at /dashboard/assets/dashboard.js). Plain ES2017,
 * no build step; kept free of backticks so it can live in this template. Reads the SSE
 * stream, renders the breaker table, the charts (Chart.js, loaded before it) and the
 * timeline, and runs the drill button. Everything shown by colour is also shown in words.
 */
export const DASHBOARD_JS = String.raw`(function () {
  'use strict';
  var POINTS = 300;
  var MAX_EVENTS = 200;
  var PHASES = ['burst', 'fail_fast', 'waiting', 'trials', 'done'];
  var GATEWAY_EVENTS = ['breaker_transition', 'config_reload', 'redis_lost', 'redis_recovered', 'shutdown_started'];
  var ICON = { CLOSED: '\u2713', HALF_OPEN: '\u25D0', OPEN: '\u2715' };
  var LEVEL = { CLOSED: 0, HALF_OPEN: 1, OPEN: 2 };
  var LEVEL_NAMES = ['CLOSED', 'HALF_OPEN', 'OPEN'];
  var DASHES = [[], [6, 4], [2, 3], [10, 3, 2, 3]];
  var KIND = { breaker_transition: 'Breaker', config_reload: 'Reload', redis_lost: 'Redis', redis_recovered: 'Redis', shutdown_started: 'Shutdown', drill: 'Test', stream: 'Dashboard' };
  var SPECS = {
    rps: { series: [['Requests', 'rps']], unit: '/s', digits: 1 },
    errors: { series: [['5xx', 'errorPct']], unit: ' %', digits: 1, suggestedMax: 10 },
    latency: { series: [['p50', 'p50Ms'], ['p99', 'p99Ms']], unit: ' ms', digits: 1 },
    retries: { series: [['Retries', 'retries']], unit: '/s', digits: 1 },
    ratelimit: { series: [['Allowed', 'allowed'], ['Blocked', 'blocked']], unit: '/s', digits: 1 },
    cache: { series: [['Hits', 'cacheHits'], ['Misses', 'cacheMisses']], unit: '/s', digits: 1 }
  };

  var $ = function (id) { return document.getElementById(id); };
  var drillEnabled = document.body.getAttribute('data-drill') === 'true';
  var charts = {};
  var stateChart = null;
  var firstT = null;
  var rows = [];
  var lastMessage = 0;
  var es = null;
  var reconnectTimer = null;
  var live = false;
  var lost = false;
  var servicesKey = '';
  var drillRunning = false;
  var drillPhase = -1;
  var drillsLogged = {};

  function pad(n) { return n < 10 ? '0' + n : String(n); }
  function clock(ms) { var d = new Date(ms); return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()); }
  function clockTenths(ms) { return clock(ms) + '.' + Math.floor((ms % 1000) / 100); }
  function fixed(v, digits) { return v === null || v === undefined ? 'no data' : Number(v).toFixed(digits); }
  function cssVar(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function stateName(s) { return String(s).toUpperCase(); }
  function badge(state, small) {
    var b = el('span', 'badge state-' + state + (small ? ' small' : ''));
    var icon = el('span', 'icon', ICON[state] || '?');
    icon.setAttribute('aria-hidden', 'true');
    b.appendChild(icon);
    b.appendChild(document.createTextNode(state));
    return b;
  }

  /* ---- connection ---- */
  function setConn(kind, text) {
    var c = $('conn');
    c.className = 'conn conn-' + kind;
    c.textContent = text;
  }

  function connect() {
    clearTimeout(reconnectTimer);
    if (es) es.close();
    es = new EventSource('/dashboard/events');
    es.addEventListener('init', function (m) { onInit(JSON.parse(m.data)); });
    es.addEventListener('snapshot', function (m) { onSnapshot(JSON.parse(m.data), false); });
    es.addEventListener('drill', function (m) { onDrill(JSON.parse(m.data), true); });
    GATEWAY_EVENTS.forEach(function (type) {
      es.addEventListener(type, function (m) {
        lastMessage = performance.now();
        var e = JSON.parse(m.data);
        addEvent(e);
        if (type === 'breaker_transition') applyTransition(e);
        if (type === 'shutdown_started') setConn('wait', 'Gateway restarting: reconnecting');
      });
    });
    es.onopen = function () { lastMessage = performance.now(); };
    es.onerror = function () {
      if (live) {
        live = false;
        lost = true;
        addEvent({ type: 'stream', at: new Date().toISOString(), text: 'Stream lost: reconnecting' });
      }
      setConn('wait', 'Reconnecting');
      // CLOSED: the server answered with an error status; EventSource gives up, we do not.
      if (es.readyState === EventSource.CLOSED) reconnectTimer = setTimeout(probe, 3000);
    };
  }

  function probe() {
    fetch('/dashboard/snapshot', { credentials: 'same-origin', cache: 'no-store' }).then(function (r) {
      if (r.status === 401) { location.assign('/dashboard/login'); return; }
      connect();
    }, function () {
      setConn('down', 'Gateway unreachable: retrying');
      reconnectTimer = setTimeout(probe, 3000);
    });
  }

  setInterval(function () {
    if (live && performance.now() - lastMessage > 5000) setConn('wait', 'Stalled: no data for ' + Math.round((performance.now() - lastMessage) / 1000) + ' s');
  }, 1000);

  /* ---- stream messages ---- */
  function onInit(d) {
    lastMessage = performance.now();
    live = true;
    setConn('live', 'Live');
    resetCharts(d.history || []);
    $('timeline').replaceChildren();
    $('timeline-empty').hidden = false;
    drillsLogged = {};
    (d.events || []).forEach(function (e) {
      if (e.type === 'drill') onDrill(e, true, true);
      else addEvent(e);
      if (e.type === 'breaker_transition') pushState(e.service + '/' + e.upstream, Date.parse(e.at), stateName(e.to), false);
    });
    if (lost) {
      lost = false;
      addEvent({ type: 'stream', at: new Date().toISOString(), text: 'Reconnected' });
    }
    if (d.snapshot) onSnapshot(d.snapshot, true);
  }

  function onSnapshot(s, fromInit) {
    lastMessage = performance.now();
    if (!live) { live = true; }
    setConn(s.draining ? 'wait' : 'live', s.draining ? 'Gateway shutting down' : 'Live');
    renderFacts(s);
    renderBreakers(s.breakers);
    renderServices(s.services);
    syncDrill(s.drill);
    setRange(s.t);
    if (s.sample && !fromInit) addSample(s.sample, false);
    Object.keys(charts).forEach(function (id) { charts[id].update('none'); });
    sampleStates(s);
  }

  /* ---- header facts and totals ---- */
  function renderFacts(s) {
    var store = $('store');
    if (s.store === 'redis') {
      store.textContent = s.redisFallback ? 'Redis: unreachable, local fallback' : 'Redis';
      store.className = s.redisFallback ? 'store-degraded' : '';
    } else {
      store.textContent = 'Embedded (in memory)';
      store.className = '';
    }
    var v = $('version');
    v.textContent = s.config.version.slice(0, 12);
    v.title = s.config.version + (s.config.source ? ' (' + s.config.source + ')' : '');
    $('viewers').textContent = String(s.viewers);
    var t = s.totals;
    $('totals').textContent = 'Since start: ' + t.requests.toLocaleString() + ' requests, ' + t.retries.toLocaleString() + ' retries, rate limit ' +
      t.rateLimitAllowed.toLocaleString() + ' allowed / ' + t.rateLimitBlocked.toLocaleString() + ' blocked, ' + t.cacheHits.toLocaleString() + ' cache hits.';
  }

  /* ---- breakers ---- */
  function cell(label, text, cls) {
    var td = el('td', cls, text);
    td.setAttribute('data-label', label);
    return td;
  }

  function renderBreakers(list) {
    var now = performance.now();
    rows = list.map(function (b) {
      return {
        id: b.id, service: b.service, upstream: b.upstream, state: b.state, failures: b.consecutiveFailures,
        threshold: b.failureThreshold, resetMs: b.resetTimeoutMs, deadline: b.msToTrial === null ? null : now + b.msToTrial
      };
    });
    drawRows();
  }

  /* A transition shows at once, not at the next snapshot. */
  function applyTransition(e) {
    var id = e.service + '/' + e.upstream;
    rows.forEach(function (r) {
      if (r.id !== id) return;
      r.state = stateName(e.to);
      r.deadline = r.state === 'OPEN' ? performance.now() + r.resetMs : null;
      if (r.state === 'CLOSED') r.failures = 0;
      // Opened from CLOSED: the threshold was reached (the next snapshot has the exact count).
      if (r.state === 'OPEN' && stateName(e.from) === 'CLOSED') r.failures = Math.max(r.failures, r.threshold);
    });
    drawRows();
    var t = Date.parse(e.at);
    if (stateChart && t > stateChart.options.scales.x.max) stateChart.options.scales.x.max = t;
    pushState(id, t, stateName(e.to), true);
  }

  function drawRows() {
    var frag = document.createDocumentFragment();
    rows.forEach(function (b) {
      var tr = el('tr');
      tr.setAttribute('data-id', b.id);
      tr.setAttribute('data-state', b.state);
      tr.appendChild(cell('Service', b.service));
      var inst = cell('Instance');
      inst.appendChild(el('code', null, b.upstream));
      tr.appendChild(inst);
      var st = cell('State');
      st.appendChild(badge(b.state));
      tr.appendChild(st);
      tr.appendChild(cell('Consecutive failures', b.failures + ' of ' + b.threshold, 'num'));
      tr.appendChild(cell('Next trial', trialText(b), 'num trial'));
      frag.appendChild(tr);
    });
    $('breaker-rows').replaceChildren(frag);
    $('breakers-empty').hidden = rows.length > 0;
  }

  function trialText(b) {
    if (b.state === 'HALF_OPEN') return 'trial requests let through';
    if (b.state !== 'OPEN') return 'not needed';
    var ms = b.deadline === null ? 0 : b.deadline - performance.now();
    return ms > 0 ? 'in ' + (ms / 1000).toFixed(1) + ' s' : 'due now';
  }

  function countdowns() {
    var cells = document.querySelectorAll('#breaker-rows td.trial');
    for (var i = 0; i < cells.length && i < rows.length; i++) cells[i].textContent = trialText(rows[i]);
  }
  setInterval(countdowns, 200);

  /* ---- charts (x: server time in ms, on linear axes: no date adapter needed) ---- */
  function timeAxis() {
    return {
      type: 'linear', ticks: { maxTicksLimit: 5, maxRotation: 0, callback: function (v) { return clock(v); } },
      afterBuildTicks: function (axis) { axis.ticks = axis.ticks.filter(function (t) { return Number.isFinite(t.value); }); }
    };
  }

  function makeCharts() {
    if (typeof Chart === 'undefined') return;
    Chart.defaults.color = cssVar('--muted');
    Chart.defaults.borderColor = cssVar('--grid');
    var colors = [cssVar('--s1'), cssVar('--s2')];
    Object.keys(SPECS).forEach(function (id) {
      var spec = SPECS[id];
      var datasets = spec.series.map(function (s, i) {
        return {
          label: s[0], data: [], borderColor: colors[i], backgroundColor: colors[i], borderWidth: 2,
          borderDash: DASHES[i], pointRadius: 0, tension: 0, spanGaps: false, clip: 4
        };
      });
      charts[id] = new Chart($('c-' + id), {
        type: 'line',
        data: { datasets: datasets },
        options: {
          animation: false, responsive: true, maintainAspectRatio: false, parsing: false, normalized: true,
          interaction: { mode: 'nearest', axis: 'x', intersect: false },
          plugins: {
            legend: { display: spec.series.length > 1, labels: { boxWidth: 26, boxHeight: 2 } },
            tooltip: { callbacks: { title: function (items) { return items.length ? clock(items[0].parsed.x) : ''; } } }
          },
          scales: { x: timeAxis(), y: { beginAtZero: true, suggestedMax: spec.suggestedMax, ticks: { maxTicksLimit: 5 } } }
        }
      });
    });
    stateChart = new Chart($('c-states'), {
      type: 'line',
      data: { datasets: [] },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        plugins: {
          legend: { labels: { boxWidth: 26, boxHeight: 2 } },
          tooltip: { callbacks: {
            title: function (items) { return items.length ? clockTenths(items[0].parsed.x) : ''; },
            label: function (item) { return item.dataset.label + ': ' + LEVEL_NAMES[Math.round(item.parsed.y)]; }
          } }
        },
        scales: {
          x: timeAxis(),
          y: { min: -0.25, max: 2.35, afterBuildTicks: function (axis) { axis.ticks = [{ value: 0 }, { value: 1 }, { value: 2 }]; },
               ticks: { callback: function (v) { return LEVEL_NAMES[v] || ''; } } }
        }
      }
    });
  }

  function trim(data, from) {
    var n = 0;
    while (n < data.length && data[n].x < from) n++;
    if (n > 0) data.splice(0, n);
  }

  /* Every chart shows the same span: at least a minute, at most five, ending at the newest point. */
  function setRange(latest) {
    if (firstT === null) firstT = latest;
    var min = Math.max(Math.min(firstT, latest - 60000), latest - POINTS * 1000);
    var all = Object.keys(charts).map(function (id) { return charts[id]; });
    if (stateChart) all.push(stateChart);
    all.forEach(function (c) {
      c.options.scales.x.min = min;
      c.options.scales.x.max = latest;
    });
  }

  function resetCharts(history) {
    firstT = history.length ? history[0].t : null;
    Object.keys(charts).forEach(function (id) { charts[id].data.datasets.forEach(function (d) { d.data = []; }); });
    history.forEach(function (s) { addSample(s, false); });
    if (history.length) setRange(history[history.length - 1].t);
    Object.keys(charts).forEach(function (id) { charts[id].update('none'); });
    if (stateChart) stateChart.data.datasets = [];
  }

  function addSample(s, update) {
    Object.keys(SPECS).forEach(function (id) {
      var spec = SPECS[id];
      var c = charts[id];
      if (c) {
        spec.series.forEach(function (ser, i) {
          var v = s[ser[1]];
          c.data.datasets[i].data.push({ x: s.t, y: v === undefined ? null : v });
          trim(c.data.datasets[i].data, s.t - POINTS * 1000);
        });
        if (update) c.update('none');
      }
      $('c-' + id + '-now').textContent = 'Last second: ' + spec.series.map(function (ser) {
        var v = s[ser[1]];
        return ser[0] + ' ' + (v === null || v === undefined ? 'no data' : fixed(v, spec.digits) + spec.unit);
      }).join(', ');
    });
  }

  /* One stepped line per instance; small offsets keep overlapping lines apart. */
  function pushState(id, t, state, update) {
    if (!stateChart) return;
    var sets = stateChart.data.datasets;
    var ds = null;
    for (var i = 0; i < sets.length; i++) if (sets[i].bwId === id) ds = sets[i];
    if (!ds) {
      var n = sets.length;
      var color = n % 2 === 0 ? cssVar('--s1') : cssVar('--s2');
      ds = { bwId: id, label: id, data: [], stepped: true, borderColor: color, backgroundColor: color, borderWidth: 2,
             borderDash: DASHES[n % DASHES.length], pointRadius: 0, clip: 4, bwOffset: ((n % 5) - 2) * 0.04 };
      sets.push(ds);
    }
    ds.data.push({ x: t, y: LEVEL[state] + ds.bwOffset });
    var len = ds.data.length;
    if (len > 1 && ds.data[len - 2].x > t) ds.data.sort(function (a, b) { return a.x - b.x; });
    trim(ds.data, t - POINTS * 1000);
    if (update) stateChart.update('none');
  }

  function sampleStates(s) {
    if (!stateChart) return;
    var ids = {};
    s.breakers.forEach(function (b) { ids[b.id] = true; pushState(b.id, s.t, b.state, false); });
    stateChart.data.datasets = stateChart.data.datasets.filter(function (d) { return ids[d.bwId]; });
    stateChart.update('none');
    $('c-states-now').textContent = s.breakers.length ? 'Now: ' + s.breakers.map(function (b) { return b.id + ' ' + b.state; }).join(', ') : 'No instances.';
  }

  /* ---- timeline ---- */
  function describe(e, what) {
    switch (e.type) {
      case 'breaker_transition':
        what.appendChild(document.createTextNode(e.service + ' / ' + e.upstream + ': '));
        what.appendChild(badge(stateName(e.from), true));
        what.appendChild(document.createTextNode(' to '));
        what.appendChild(badge(stateName(e.to), true));
        return;
      case 'config_reload':
        if (e.result === 'success') {
          what.textContent = 'Routes reloaded' + (e.version ? ', version ' + String(e.version).slice(0, 12) : '') + (e.trigger ? ' (' + e.trigger + ')' : '');
        } else {
          var n = e.problems ? e.problems.length : 0;
          what.textContent = 'Reload refused, old configuration kept' + (n ? ': ' + e.problems[0] + (n > 1 ? ' (and ' + (n - 1) + ' more)' : '') : '');
        }
        return;
      case 'redis_lost':
        what.textContent = 'Redis unreachable: serving with local state' + (e.detail ? ' (' + e.detail + ')' : '');
        return;
      case 'redis_recovered':
        what.textContent = 'Redis reachable again: shared state restored';
        return;
      case 'shutdown_started':
        what.textContent = 'Gateway shutting down';
        return;
      case 'drill':
        if (e.phase === 'done') what.textContent = 'Circuit breaker test on ' + e.service + ' passed: ' + e.message;
        else if (e.phase === 'failed') what.textContent = 'Circuit breaker test on ' + e.service + ' failed: ' + e.message;
        else what.textContent = 'Circuit breaker test started on ' + e.service;
        return;
      default:
        what.textContent = e.text || e.type;
    }
  }

  function addEvent(e) {
    var list = $('timeline');
    var li = el('li');
    li.setAttribute('data-type', e.type);
    var t = el('time', null, clockTenths(Date.parse(e.at)));
    t.setAttribute('datetime', e.at);
    li.appendChild(t);
    li.appendChild(el('span', 'kind', KIND[e.type] || e.type));
    var what = el('span', 'what');
    describe(e, what);
    li.appendChild(what);
    list.insertBefore(li, list.firstChild);
    while (list.children.length > MAX_EVENTS) list.removeChild(list.lastChild);
    $('timeline-empty').hidden = true;
  }

  /* ---- drill ---- */
  function renderServices(services) {
    var sel = $('drill-service');
    if (!sel) return;
    var key = services.map(function (s) { return s.name; }).join(',');
    if (key === servicesKey) return;
    servicesKey = key;
    var keep = sel.value;
    sel.replaceChildren();
    services.forEach(function (s) {
      var o = el('option', null, s.name + ' (' + s.instances + ' instance' + (s.instances === 1 ? '' : 's') + ')');
      o.value = s.name;
      sel.appendChild(o);
    });
    var names = services.map(function (s) { return s.name; });
    sel.value = names.indexOf(keep) !== -1 ? keep : names.indexOf('flaky') !== -1 ? 'flaky' : names[0] || '';
  }

  function setRunning(running) {
    drillRunning = running;
    var b = $('drill-run');
    if (!b) return;
    b.disabled = running;
    b.textContent = running ? 'Test running' : 'Run circuit breaker test';
  }

  function syncDrill(d) {
    if (!drillEnabled || !d) return;
    if (d.running) onDrill(d.running, false);
    else if (drillRunning && d.last) onDrill(d.last, false);
    else if (drillRunning) setRunning(false);
  }

  function onDrill(p, live, quiet) {
    var final = p.phase === 'done' || p.phase === 'failed';
    if (live) {
      var key = p.id + (final ? ':end' : ':start');
      if (!drillsLogged[key]) {
        drillsLogged[key] = true;
        addEvent(p);
      }
    }
    if (quiet || !drillEnabled) return;
    setRunning(!final);
    var idx = p.phase === 'failed' ? drillPhase : PHASES.indexOf(p.phase);
    if (!final || p.phase === 'done') drillPhase = idx;
    var steps = document.querySelectorAll('#drill-steps li');
    for (var i = 0; i < steps.length; i++) {
      steps[i].classList.toggle('done', i < idx || p.phase === 'done');
      steps[i].classList.toggle('failed', p.phase === 'failed' && i === idx);
      if (i === idx && !final) steps[i].setAttribute('aria-current', 'step');
      else steps[i].removeAttribute('aria-current');
    }
    var statuses = Object.keys(p.statuses).sort().map(function (k) { return k + ' \u00d7' + p.statuses[k]; }).join(', ');
    $('drill-status').textContent = (p.phase === 'done' ? 'Passed: ' : p.phase === 'failed' ? 'Failed: ' : '') + p.message + '. ' +
      p.sent + ' requests sent' + (statuses ? ' (' + statuses + ')' : '') + ', ' + p.fastFails + ' failed fast.';
  }

  function startDrill(ev) {
    ev.preventDefault();
    if (drillRunning) return;
    setRunning(true);
    $('drill-status').textContent = 'Starting';
    var body = { service: $('drill-service').value, failPath: $('drill-fail').value, okPath: $('drill-ok').value };
    fetch('/dashboard/drill', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body)
    }).then(function (r) {
      if (r.status === 401) { location.assign('/dashboard/login'); return; }
      return r.json().then(function (j) {
        if (r.status === 202) { onDrill(j, false); return; }
        if (r.status !== 409) setRunning(false);
        $('drill-status').textContent = r.status === 409 ? 'A test is already running.' :
          'Could not start: ' + (j.problems ? j.problems.join('; ') : j.detail || ('HTTP ' + r.status));
      });
    }).catch(function () {
      setRunning(false);
      $('drill-status').textContent = 'Could not reach the gateway.';
    });
  }

  /* ---- start ---- */
  makeCharts();
  if (drillEnabled && $('drill-form')) $('drill-form').addEventListener('submit', startDrill);
  connect();
})();
`;
