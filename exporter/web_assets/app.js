// kscope's live view. Once per sampling interval it fetches the telemetry
// path with ?source=ui (kscope's counters and gauges only, and not counted
// as a Prometheus scrape), turns counters into per-second rates, keeps a few
// minutes of history and draws it as SVG. No libraries, no network but kscope.
//
// Rates are over kscope's own clock: the increase between two polls divided
// by (samples taken in between) x (sample interval). Browser timers drift,
// get throttled in background tabs and do not line up with kscope's
// sampling; the sample count does. Each chart records its latest values in
// data-* attributes (data-points, data-last-<series>-rate, ...) for tests.
'use strict';
(() => {
  const status = JSON.parse(document.getElementById('status').textContent);
  const intervalMs = status.sample_interval_ms;
  const historyMs = 5 * 60 * 1000;
  const maxPoints = Math.min(1500, Math.max(2, Math.ceil(historyMs / intervalMs)));
  const cgroupWindowMs = 5000;
  const cgroupRows = 10;
  const url = status.telemetry_path.replace(/^\//, '') + '?source=ui';

  const charts = [
    {id: 'fd', probe: 'fd', title: 'File descriptors /s', series: [
      {key: 'open', label: 'opens', metric: 'kscope_fd_open_calls_total'},
      {key: 'close', label: 'closes', metric: 'kscope_fd_close_calls_total'},
      {key: 'open-errors', label: 'open errors', metric: 'kscope_fd_open_errors_total'},
      {key: 'close-errors', label: 'close errors', metric: 'kscope_fd_close_errors_total'}]},
    {id: 'vfs-calls', probe: 'vfs', title: 'VFS calls /s', series: [
      {key: 'read', label: 'reads', metric: 'kscope_vfs_read_calls_total'},
      {key: 'write', label: 'writes', metric: 'kscope_vfs_write_calls_total'},
      {key: 'read-errors', label: 'read errors', metric: 'kscope_vfs_read_errors_total'},
      {key: 'write-errors', label: 'write errors', metric: 'kscope_vfs_write_errors_total'}]},
    {id: 'vfs-bytes', probe: 'vfs', title: 'VFS bytes /s', bytes: true, series: [
      {key: 'read-bytes', label: 'read', metric: 'kscope_vfs_read_bytes_total'},
      {key: 'write-bytes', label: 'written', metric: 'kscope_vfs_write_bytes_total'}]},
    {id: 'tasks', probe: 'process', title: 'Processes and threads /s', series: [
      {key: 'processes', label: 'processes created', metric: 'kscope_process_created_total'},
      {key: 'threads', label: 'threads created', metric: 'kscope_thread_created_total'},
      {key: 'exits', label: 'exits', metric: 'kscope_task_exits_total'},
      {key: 'fork-errors', label: 'fork errors', metric: 'kscope_process_create_errors_total'}]},
    {id: 'zombies', probe: 'process', title: 'Zombies now', gauge: true, series: [
      {key: 'zombies', label: 'zombie processes', metric: 'kscope_process_zombies'}]},
  ];
  // Per cgroup: each metric adds (or subtracts) to one column.
  const cgroupColumns = {
    kscope_fd_open_calls_total: ['oc', 1], kscope_fd_close_calls_total: ['oc', -1],
    kscope_vfs_read_bytes_total: ['bytes', 1], kscope_vfs_write_bytes_total: ['bytes', 1],
    kscope_process_created_total: ['forks', 1], kscope_thread_created_total: ['forks', 1],
  };
  const wanted = new Set(['kscope_samples_total', 'kscope_probe_up', 'kscope_cgroup_info']);
  for (const c of charts) for (const s of c.series) wanted.add(s.metric);
  const svgNs = 'http://www.w3.org/2000/svg';
  const colors = ['#2f6fdf', '#e07b00', '#c0392b', '#7d3cb5'];

  // --- Text exposition format -> [{key, name, labels, value}], wanted names only.
  function parse(text) {
    const out = [];
    for (const line of text.split('\n')) {
      if (line === '' || line[0] === '#') continue;
      let i = 0;
      while (i < line.length && line[i] !== '{' && line[i] !== ' ') i++;
      const name = line.slice(0, i);
      if (!wanted.has(name)) continue;
      const labels = {};
      if (line[i] === '{') {
        i++;
        while (i < line.length && line[i] !== '}') {
          const eq = line.indexOf('=', i);
          const key = line.slice(i, eq).replace(/^,/, '');
          let v = '';
          for (i = eq + 2; i < line.length && line[i] !== '"'; i++) {
            if (line[i] === '\\') {
              i++;
              v += line[i] === 'n' ? '\n' : line[i];
            } else {
              v += line[i];
            }
          }
          labels[key] = v;
          i++;  // the closing quote
          if (line[i] === ',') i++;
        }
        i++;  // the closing brace
      }
      const rest = line.slice(i).trim().split(' ')[0];
      const value = rest === '+Inf' ? Infinity : rest === '-Inf' ? -Infinity : parseFloat(rest);
      out.push({key: line.slice(0, i), name, labels, value});
    }
    return out;
  }

  function cgroupName(l) {
    if (l.pod) return (l.namespace ? l.namespace + '/' : '') + l.pod;
    if (l.systemd_unit) return l.systemd_unit;
    if (l.container_id) return 'container ' + l.container_id.slice(0, 12);
    return '';
  }

  // --- State: the previous poll, the history of points, recent cgroup increases.
  let prev = null;  // {samples, values: Map key -> value}
  const history = [];  // {t: seconds on kscope's clock, rates: {metric: value}}
  const recentCgroups = [];  // {seconds, byCgroup: Map cgroup -> {oc, bytes, forks}}
  const names = new Map();  // cgroup -> unit / pod
  const seen = new Set();  // metrics present at least once
  let sortKey = 'bytes';
  let lastWindow = [0, 0];  // samples_total of the latest point and of the one before

  function ingest(series) {
    const samplesSeries = series.find((s) => s.name === 'kscope_samples_total');
    if (!samplesSeries) throw new Error('no kscope_samples_total in ' + url);
    const samples = samplesSeries.value;
    const values = new Map();
    for (const s of series) values.set(s.key, s.value);
    if (prev && samples < prev.samples) {  // kscope restarted: start over
      prev = null;
      history.length = 0;
      recentCgroups.length = 0;
    }
    if (prev && samples === prev.samples) return false;  // no new sample yet
    const before = prev;
    prev = {samples, values};
    if (!before) return false;

    const seconds = (samples - before.samples) * intervalMs / 1000;
    const increase = {};
    const gauges = {};
    const byCgroup = new Map();
    for (const s of series) {
      if (s.name === 'kscope_probe_up') {
        updateProbe(s.labels.probe, s.value === 1);
        continue;
      }
      if (s.name === 'kscope_cgroup_info') {
        names.set(s.labels.cgroup, cgroupName(s.labels));
        continue;
      }
      if (s.name === 'kscope_samples_total') continue;
      seen.add(s.name);
      if (s.name === 'kscope_process_zombies') {
        gauges[s.name] = (gauges[s.name] || 0) + s.value;
        continue;
      }
      // Per series, then summed: a cgroup whose series left /metrics must not
      // look like a drop, and a new one brings what it counted since it came.
      const d = Math.max(0, s.value - (before.values.get(s.key) || 0));
      increase[s.name] = (increase[s.name] || 0) + d;
      if (s.labels.cgroup !== undefined) {
        let e = byCgroup.get(s.labels.cgroup);
        if (!e) byCgroup.set(s.labels.cgroup, e = {oc: 0, bytes: 0, forks: 0, active: false});
        e.active = e.active || d > 0;
        const col = cgroupColumns[s.name];
        if (col) e[col[0]] += col[1] * d;
      }
    }
    const rates = {...gauges};
    for (const [name, d] of Object.entries(increase)) rates[name] = d / seconds;
    history.push({t: samples * intervalMs / 1000, rates});
    while (history.length > maxPoints) history.shift();
    recentCgroups.push({seconds, byCgroup});
    let windowSeconds = 0;
    for (const r of recentCgroups) windowSeconds += r.seconds;
    while (recentCgroups.length > 1 && windowSeconds - recentCgroups[0].seconds >=
           cgroupWindowMs / 1000) {
      windowSeconds -= recentCgroups.shift().seconds;
    }
    lastWindow = [samples, before.samples];
    return true;
  }

  // --- Probes: the server rendered the table; kscope_probe_up keeps it live.
  const probeState = {};
  for (const p of status.probes) probeState[p.name] = !p.enabled ? 'disabled' : p.up ? 'up' : 'down';

  function updateProbe(name, up) {
    const row = document.querySelector('#probes tr[data-probe="' + CSS.escape(name) + '"]');
    if (!row || row.dataset.state === 'disabled') return;
    const state = up ? 'up' : 'down';
    row.dataset.state = state;
    row.querySelector('.state').textContent = state;
  }

  // --- Charts.
  function el(tag, attrs, text, ns) {
    const e = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function format(v, bytes) {
    if (!isFinite(v)) return String(v);
    const units = bytes ? ['B', 'KiB', 'MiB', 'GiB', 'TiB'] : ['', 'k', 'M', 'G', 'T'];
    const step = bytes ? 1024 : 1000;
    let u = 0;
    while (Math.abs(v) >= step && u < units.length - 1) {
      v /= step;
      u++;
    }
    const digits = Math.abs(v) < 10 && (u > 0 || v % 1 !== 0) ? 1 : 0;
    return v.toFixed(digits) + (units[u] ? (bytes ? ' ' : '') + units[u] : '');
  }

  // A round top for the y axis: 1, 2, 2.5 or 5 times a power of ten (of
  // the binary unit for bytes: 256 MiB, not 268.4 MB).
  function niceMax(v, bytes) {
    if (v <= 0) return 1;
    const unit = bytes ? Math.pow(1024, Math.floor(Math.log(v) / Math.log(1024))) : 1;
    v /= unit;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p * unit;
    return 10 * p * unit;
  }

  function ago(seconds) {
    if (seconds >= 120) return '-' + Math.round(seconds / 60) + ' min';
    return '-' + (seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)) + ' s';
  }

  const chartsEl = document.getElementById('charts');
  for (const c of charts) {
    const state = probeState[c.probe] || 'disabled';
    const fig = el('figure', {'class': 'chart', 'id': 'chart-' + c.id, 'data-probe': c.probe,
      'data-state': state});
    fig.append(el('figcaption', {}, c.title));
    if (state !== 'up') {
      const p = status.probes.find((x) => x.name === c.probe);
      fig.classList.add(state);
      fig.append(el('p', {'class': 'reason'}, state === 'disabled' ?
        `The ${c.probe} module is disabled in the configuration.` :
        `The ${c.probe} probe is down: ${p && p.detail ? p.detail : 'not started'}`));
    } else {
      c.svg = el('svg', {'viewBox': '0 0 600 180', 'role': 'img', 'aria-label': c.title}, undefined,
        svgNs);
      c.legend = el('ul', {'class': 'legend'});
      fig.setAttribute('data-points', '0');
      fig.append(c.svg, c.legend);
    }
    c.fig = fig;
    chartsEl.append(fig);
  }

  const plot = {left: 52, right: 592, top: 10, bottom: 160};

  function drawChart(c) {
    if (!c.svg) return;
    const present = c.series.filter((s) => seen.has(s.metric));
    const pts = history.filter((h) => c.series.some((s) => h.rates[s.metric] !== undefined));
    c.fig.setAttribute('data-points', String(pts.length));
    const last = pts[pts.length - 1];
    if (last) {
      for (const s of present) {
        const v = last.rates[s.metric];
        if (v !== undefined) c.fig.setAttribute('data-last-' + s.key + (c.gauge ? '' : '-rate'), String(v));
      }
      c.fig.setAttribute('data-last-samples', String(lastWindow[0]));
      c.fig.setAttribute('data-prev-samples', String(lastWindow[1]));
    }
    let max = 0;
    for (const h of pts) for (const s of present) max = Math.max(max, h.rates[s.metric] || 0);
    max = niceMax(max, c.bytes);
    const t0 = pts.length ? pts[0].t : 0;
    const span = pts.length > 1 ? pts[pts.length - 1].t - t0 : 1;
    const x = (t) => plot.left + (t - t0) / span * (plot.right - plot.left);
    const y = (v) => plot.bottom - v / max * (plot.bottom - plot.top);

    const g = [];
    for (const f of [0, 0.5, 1]) {
      g.push(el('line', {'x1': plot.left, 'x2': plot.right, 'y1': y(f * max), 'y2': y(f * max),
        'class': 'grid'}, undefined, svgNs));
      g.push(el('text', {'x': plot.left - 6, 'y': y(f * max) + 4, 'class': 'axis',
        'text-anchor': 'end'}, format(f * max, c.bytes), svgNs));
    }
    g.push(el('text', {'x': plot.left, 'y': 176, 'class': 'axis'},
      pts.length > 1 ? ago(span) : '', svgNs));
    g.push(el('text', {'x': plot.right, 'y': 176, 'class': 'axis', 'text-anchor': 'end'}, 'now',
      svgNs));
    c.series.forEach((s, i) => {
      if (!seen.has(s.metric)) return;
      const xy = pts.map((h) => x(h.t).toFixed(1) + ',' + y(h.rates[s.metric] || 0).toFixed(1));
      g.push(el('polyline', {'points': xy.join(' '), 'stroke': colors[i], 'class': 'line',
        'data-series': s.key}, undefined, svgNs));
    });
    c.svg.replaceChildren(...g);

    c.legend.replaceChildren(...c.series.map((s, i) => {
      const li = el('li', {'data-series': s.key});
      li.append(el('span', {'class': 'swatch', 'style': 'background:' + colors[i]}));
      if (!seen.has(s.metric)) {
        li.classList.add('absent');
        li.append(el('span', {}, s.label + ': not measured in mode ' + status.mode));
      } else {
        const v = last ? last.rates[s.metric] : undefined;
        li.append(el('span', {}, s.label + ' '), el('b', {},
          v === undefined ? '-' : format(v, c.bytes)));
      }
      return li;
    }));
  }

  // --- Busiest cgroups.
  const cgSection = document.getElementById('cgroups-section');
  const cgTable = document.getElementById('cgroups');
  for (const th of cgTable.querySelectorAll('th[data-sort]')) {
    th.addEventListener('click', () => {
      sortKey = th.dataset.sort;
      drawCgroups();
    });
  }

  function drawCgroups() {
    const sums = new Map();
    let seconds = 0;
    for (const r of recentCgroups) {
      seconds += r.seconds;
      for (const [cg, e] of r.byCgroup) {
        const s = sums.get(cg) || {oc: 0, bytes: 0, forks: 0, active: false};
        s.oc += e.oc;
        s.bytes += e.bytes;
        s.forks += e.forks;
        s.active = s.active || e.active;
        sums.set(cg, s);
      }
    }
    for (const [cg, s] of sums) if (!s.active) sums.delete(cg);  // not busy at all
    cgSection.hidden = recentCgroups.every((r) => r.byCgroup.size === 0);
    cgTable.dataset.rows = String(Math.min(sums.size, cgroupRows));
    if (sums.size === 0) {
      const tr = el('tr');
      tr.append(el('td', {'colspan': '5', 'class': 'note'}, 'No activity in the last few seconds.'));
      cgTable.tBodies[0].replaceChildren(tr);
      return;
    }
    for (const th of cgTable.querySelectorAll('th[data-sort]'))
      th.classList.toggle('sorted', th.dataset.sort === sortKey);
    const rows = [...sums].sort((a, b) => b[1][sortKey] - a[1][sortKey] ||
      b[1].bytes - a[1].bytes).slice(0, cgroupRows);
    cgTable.tBodies[0].replaceChildren(...rows.map(([cg, s]) => {
      const tr = el('tr', {'data-cgroup': cg});
      tr.append(el('td', {'class': 'path', 'title': cg}, cg), el('td', {}, names.get(cg) || ''),
        el('td', {'class': 'num'}, format(s.oc / seconds)),
        el('td', {'class': 'num'}, format(s.bytes / seconds, true)),
        el('td', {'class': 'num'}, format(s.forks / seconds)));
      return tr;
    }));
  }

  // --- The poll loop: one fetch per sampling interval, never two at once.
  const live = document.getElementById('live');
  async function poll() {
    const started = performance.now();
    try {
      const r = await fetch(url, {cache: 'no-store'});
      if (!r.ok) throw new Error('HTTP ' + r.status + ' from ' + url);
      if (ingest(parse(await r.text()))) {
        for (const c of charts) drawChart(c);
        drawCgroups();
      }
      live.dataset.state = 'live';
      live.textContent = 'Live: sampled every ' + intervalMs + ' ms, ' + history.length +
        ' points of the last ' + Math.round(historyMs / 60000) + ' minutes kept in this page.';
    } catch (e) {
      live.dataset.state = 'error';
      live.textContent = 'Cannot read ' + url + ': ' + e.message + '. Retrying.';
    }
    setTimeout(poll, Math.max(0, intervalMs - (performance.now() - started)));
  }
  poll();
})();
