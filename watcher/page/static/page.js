// The watcher's status page: renders the `status` and `series` events of
// /events, nothing else. Text that came from the log or Slack (pool names,
// releases, alert texts, reasons) only ever goes in through textContent.
'use strict';
(() => {
  const WINDOW_SEC = 15 * 60;
  const CHART_HEIGHT = 200;
  // Colour is never the only difference: each pool also has its own dash.
  const POOL_STYLES = { blue: { stroke: '#0a58ca', dash: [] }, green: { stroke: '#14803c', dash: [10, 5] } };
  const OTHER_STYLES = [{ stroke: '#6f42c1', dash: [2, 4] }, { stroke: '#b35900', dash: [14, 4, 2, 4] }];
  const KIND_WORDS = { failover: 'Failover', outage: 'Outage: no pool answers', error_rate: 'High error rate' };
  const HEALTH_WORDS = { ok: 'healthy', failing: 'failing', idle: 'idle: no traffic yet' };
  const CHARTS = [
    { id: 'chart-rps', metric: 'rps', scale: 1, digits: 2 },
    { id: 'chart-failed', metric: 'failedShare', scale: 100, digits: 1 },
    { id: 'chart-p50', metric: 'p50Ms', scale: 1, digits: 1 },
    { id: 'chart-p99', metric: 'p99Ms', scale: 1, digits: 1 },
  ];

  const byId = (id) => document.querySelector(`[data-testid="${id}"]`);
  let status;
  let series;
  // Server time minus this browser's, so "open for" counts from the watcher's clock.
  let skewMs = 0;
  let charts = [];
  let chartPools = '';
  let xEnd = Date.now() / 1000;

  function el(tag, text, attrs) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    return node;
  }

  const pad = (n) => String(n).padStart(2, '0');
  const clock = (ms) => {
    const d = new Date(ms);
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  };
  const dateTime = (ms) => {
    const d = new Date(ms);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(ms)}`;
  };
  const isoClock = (iso) => (iso ? clock(Date.parse(iso)) : '—');
  function duration(ms) {
    const sec = Math.max(0, Math.floor(ms / 1000));
    if (sec < 60) return `${sec} s`;
    const min = Math.floor(sec / 60);
    return min < 120 ? `${min} min` : `${Math.floor(min / 60)} h ${min % 60} min`;
  }
  const since = (openedAt) => `open since ${clock(openedAt)} (${duration(Date.now() + skewMs - openedAt)})`;

  function setConnection(state) {
    const node = byId('connection');
    node.dataset.state = state;
    node.textContent = state === 'live' ? 'live' : 'reconnecting…';
  }

  function renderBanner(s) {
    const banner = byId('banner');
    const failover = s.servingPool !== s.primaryPool;
    banner.dataset.pool = s.servingPool;
    banner.dataset.state = failover ? 'failover' : 'primary';
    byId('serving-pool').textContent = s.servingPool;
    byId('banner-note').textContent = failover ? `— failover from ${s.primaryPool}` : '(primary)';
    document.title = `${s.servingPool} serving${s.incidents.length > 0 ? ` · ${s.incidents.length} open` : ''}`;
  }

  function renderIncidents(s) {
    const n = s.incidents.length;
    byId('incidents').dataset.state = n > 0 ? 'open' : 'none';
    byId('incident-count').textContent = String(n);
    byId('incident-count-word').textContent = n === 1 ? 'open incident' : 'open incidents';
    byId('no-incident').hidden = n > 0;
    byId('incident-list').replaceChildren(
      ...s.incidents.map((incident) => {
        const item = el('li', undefined, { 'data-testid': 'incident', 'data-kind': incident.kind, 'data-key': incident.key });
        const head = el('div', KIND_WORDS[incident.kind] || incident.kind, { class: 'incident-kind' });
        if (incident.pool) head.append(el('span', ` — ${incident.pool} failing`, { 'data-testid': 'incident-pool' }));
        item.append(
          head,
          el('div', incident.level ? `level: ${incident.level}` : 'level: not yet told to Slack', { class: 'incident-level' }),
          el('div', since(incident.openedAt), { class: 'incident-since', 'data-opened': String(incident.openedAt) }),
          el('div', `id ${incident.id}`, { class: 'incident-id' }),
        );
        // Only https links reach the page (watcher/page/status.ts); a new tab, and no referrer for Slack.
        if (incident.slackUrl) {
          item.append(el('a', 'Slack message', { href: incident.slackUrl, target: '_blank', rel: 'noopener noreferrer', 'data-testid': 'incident-slack' }));
        }
        return item;
      }),
    );
  }

  function renderPools(s) {
    byId('pools').replaceChildren(
      ...s.pools.map((p) => {
        const card = el('article', undefined, {
          class: 'pool',
          'data-testid': 'pool',
          'data-pool': p.pool,
          'data-health': p.health,
          'data-serving': String(p.serving),
        });
        card.append(
          el('h3', p.pool, { 'data-testid': 'pool-name' }),
          el('p', p.serving ? 'serving' : 'standby', { class: 'pool-state', 'data-testid': 'pool-state' }),
          el('p', p.primary ? 'primary' : 'backup', { 'data-testid': 'pool-role' }),
          el('p', HEALTH_WORDS[p.health] || p.health, { class: 'pool-health', 'data-testid': 'pool-health' }),
          el('p', p.release ? `release ${p.release}` : 'release unknown', { 'data-testid': 'pool-release' }),
          el('p', `${p.failed} / ${p.attempts} failed attempts`, { 'data-testid': 'pool-failed' }),
        );
        return card;
      }),
    );
  }

  /** Newest first: the latest is what an operator looks for. */
  function renderTable(id, rows, cells) {
    const body = byId(id).tBodies[0];
    body.replaceChildren(
      ...rows
        .slice()
        .reverse()
        .map((row) => {
          const tr = el('tr', undefined, { 'data-testid': `${id}-row` });
          for (const cell of cells(row)) tr.append(el('td', cell === undefined ? '—' : String(cell)));
          return tr;
        }),
    );
    byId(`${id}-empty`).hidden = rows.length > 0;
  }

  // Said plainly where it matters: a dry-run alert reached nobody.
  const OUTCOME_WORDS = { dry_run: 'dry-run, not posted' };

  function renderStatus(s) {
    status = s;
    skewMs = s.at - Date.now();
    document.body.dataset.serving = s.servingPool;
    document.body.dataset.incidents = String(s.incidents.length);
    renderBanner(s);
    renderIncidents(s);
    renderPools(s);
    byId('delivery').textContent = s.delivery;
    byId('updated').textContent = `updated ${clock(s.at)}`;
    byId('maintenance').hidden = !s.maintenance;
    renderTable('alerts', s.recentAlerts, (a) => [
      isoClock(a.raisedAt), a.kind, a.message, a.text, a.decision, OUTCOME_WORDS[a.outcome] ?? a.outcome, a.settledAt && isoClock(a.settledAt),
    ]);
    renderTable('history', s.history, (h) => [
      dateTime(Date.parse(h.time)), h.action, h.outcome, h.pool, h.release, h.who, h.reason,
    ]);
    if (chartPoolsChanged()) renderSeries();
  }

  function poolStyle(pool, index) {
    return POOL_STYLES[pool] || OTHER_STYLES[index % OTHER_STYLES.length];
  }

  function chartWidth(node) {
    return Math.max(200, node.clientWidth);
  }

  function makeCharts(pools) {
    for (const chart of charts) chart.plot.destroy();
    charts = CHARTS.map((spec) => {
      const node = byId(spec.id);
      const format = (u, v) => (v === null || v === undefined ? '—' : v.toFixed(spec.digits));
      const plot = new uPlot(
        {
          width: chartWidth(node),
          height: CHART_HEIGHT,
          cursor: { drag: { x: false, y: false } },
          scales: {
            x: { time: true, range: () => [xEnd - WINDOW_SEC, xEnd] },
            y: { range: (u, min, max) => [0, max > 0 ? max * 1.15 : 1] },
          },
          // 24-hour labels, as every other time on the page.
          axes: [{ values: (u, splits) => splits.map((sec) => clock(sec * 1000).slice(0, 5)) }, { size: 56 }],
          series: [
            { label: 'time', value: (u, v) => (v === null || v === undefined ? '—' : clock(v * 1000)) },
            ...pools.map((pool, i) => ({ label: pool, width: 2, value: format, ...poolStyle(pool, i) })),
          ],
        },
        [[], ...pools.map(() => [])],
        node,
      );
      return { spec, node, plot };
    });
    chartPools = pools.join('\n');
  }

  /** One line per pool the status or the series knows, in the status' order, so legends show before data comes. */
  function chartPoolList() {
    return [...new Set([...(status ? status.pools.map((p) => p.pool) : []), ...Object.keys(series ? series.pools : {})])];
  }

  function chartPoolsChanged() {
    return chartPoolList().join('\n') !== chartPools;
  }

  function renderSeries() {
    const pools = chartPoolList();
    if (chartPoolsChanged() || charts.length === 0) makeCharts(pools);
    if (!series) return;
    const first = Object.values(series.pools)[0];
    const n = first ? first.rps.length : 0;
    const stepMs = series.stepSec * 1000;
    xEnd = (series.end > 0 ? series.end : Date.now() + skewMs) / 1000;
    const xs = Array.from({ length: n }, (_, i) => (series.end - (n - 1 - i) * stepMs) / 1000);
    for (const { spec, plot } of charts) {
      const lines = pools.map((pool) => {
        const values = series.pools[pool] ? series.pools[pool][spec.metric] : [];
        return xs.map((_, i) => (values[i] === null || values[i] === undefined ? null : values[i] * spec.scale));
      });
      plot.setData([xs, ...lines]);
    }
  }

  let resizeQueued = false;
  window.addEventListener('resize', () => {
    if (resizeQueued) return;
    resizeQueued = true;
    requestAnimationFrame(() => {
      resizeQueued = false;
      for (const { node, plot } of charts) plot.setSize({ width: chartWidth(node), height: CHART_HEIGHT });
    });
  });

  // "open since … (x min)" keeps counting between events.
  setInterval(() => {
    for (const node of document.querySelectorAll('.incident-since')) node.textContent = since(Number(node.dataset.opened));
  }, 1000);

  // EventSource reconnects by itself after a dropped stream, but not after an
  // answer that is not a stream (a 503 when the watcher has too many): then
  // this page starts a new one.
  function connect() {
    const source = new EventSource('/events');
    source.onopen = () => setConnection('live');
    source.onerror = () => {
      setConnection('reconnecting');
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
    };
    source.addEventListener('status', (event) => renderStatus(JSON.parse(event.data)));
    source.addEventListener('series', (event) => {
      series = JSON.parse(event.data);
      renderSeries();
    });
  }

  renderSeries();
  connect();
})();
