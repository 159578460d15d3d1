// SPDX-License-Identifier: MIT
// report.html's page: reads the JSON block that `modlab report` wrote (lua/modlab/report*.lua)
// and draws it with Apache ECharts (inlined before this script). Ends with a self-check
// block (#modlab-selfcheck, hidden) listing every plot with its point count, every image,
// the page's errors and how long it took, which tests/e2e/report_browser.sh reads.
(function () {
  'use strict';
  const scriptStart = performance.now();   // the library is parsed and run by now
  const data = JSON.parse(document.getElementById('modlab-data').textContent);
  const app = document.getElementById('app');
  const plots = [];    // {id, kind, points, chart}
  const images = [];   // {name, width, height}
  const charts = [];
  const SPLIT_COLORS = { train: '#1f77b4', valid: '#ff7f0e', test: '#2ca02c' };
  const GOOD_TO_BAD = ['#50a3ba', '#eac736', '#d94e5d'];

  const arr = (x) => (Array.isArray(x) ? x : []);
  const obj = (x) => (x && typeof x === 'object' && !Array.isArray(x) ? x : {});
  const isNum = (x) => typeof x === 'number' && isFinite(x);

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') e.textContent = v; else e.setAttribute(k, v);
    }
    for (const k of kids) if (k) e.appendChild(typeof k === 'string' ?
      document.createTextNode(k) : k);
    return e;
  }
  const add = (parent, ...kids) => {   // returns the parent
    kids.forEach((k) => parent.appendChild(k));
    return parent;
  };
  const put = (parent, kid) => parent.appendChild(kid);   // returns the child
  function fmt(v) {
    if (!isNum(v)) return v === null || v === undefined ? '' : String(v);
    if (Number.isInteger(v)) return String(v);
    return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e6 ? String(+v.toPrecision(6)) :
      v.toExponential(4);
  }
  // Each section's heading gets an id (report.html#layer-diagnostics links to it).
  function section(title) {
    const id = title.toLowerCase().replace(/\(.*\)/g, '').trim().replace(/[^a-z0-9]+/g, '-');
    add(app, el('h2', { text: title, id: id }));
    return put(app, el('div', { class: 'grid' }));
  }
  function note(parent, text) { parent.appendChild(el('p', { class: 'note', text: text })); }

  // One ECharts plot in `parent`; `points` is how many data points it shows.
  let nextId = 0;
  function plot(parent, name, kind, title, option, points, wide) {
    const id = 'plot-' + (nextId++) + '-' + name.replace(/[^A-Za-z0-9_.-]/g, '_');
    const box = el('div', { class: wide ? 'plot wide' : 'plot', id: id });
    parent.appendChild(box);
    const t0 = performance.now();
    const chart = echarts.init(box, null, { renderer: 'canvas' });
    option.animation = false;
    option.title = { text: title, left: 'center', textStyle: { fontSize: 13 } };
    option.tooltip = option.tooltip || { trigger: 'item' };
    chart.setOption(option);
    charts.push(chart);
    plots.push({ id: id, kind: kind, points: points, box: box, ms: performance.now() - t0 });
  }
  // [x, y] pairs of two aligned arrays, leaving out missing values.
  function pairs(xs, ys) {
    const out = [];
    arr(ys).forEach((y, i) => { if (isNum(y) && isNum(arr(xs)[i])) out.push([xs[i], y]); });
    return out;
  }
  function lines(parent, name, title, xname, seriesList, wide) {
    let points = 0;
    const series = seriesList.map((s) => {
      points += s.data.length;
      return { name: s.name, type: 'line', data: s.data, showSymbol: s.data.length <= 60,
               symbolSize: 4, color: s.color };
    });
    plot(parent, name, 'line', title, {
      grid: { left: 60, right: 20, top: 50, bottom: 45 },
      legend: { top: 22, type: 'scroll' },
      tooltip: { trigger: 'axis' },
      // Epochs are whole numbers from the first logged one; wall time counts from 0 (the
      // run's start); every value label is rounded (no 2.0999999999).
      xAxis: xname === 'epoch' ?
        { type: 'value', name: xname, nameLocation: 'middle', nameGap: 25, min: 'dataMin',
          max: 'dataMax', minInterval: 1, axisLabel: { formatter: fmt } } :
        { type: 'value', name: xname, nameLocation: 'middle', nameGap: 25, min: 0,
          axisLabel: { formatter: fmt } },
      yAxis: { type: 'value', scale: true, axisLabel: { formatter: fmt } },
      series: series,
    }, points, wide);
  }
  function kvTable(entries) {
    const t = el('table');
    for (const [k, v] of entries) {
      add(t, el('tr', null, el('th', { text: k }),
        el('td', { class: isNum(v) ? 'num' : '', text: fmt(v) })));
    }
    return t;
  }
  function warnings(list) {
    if (arr(list).length === 0) return;
    const box = el('div', { class: 'warn' }, el('b', { text: 'Warnings while reading:' }));
    const ul = put(box, el('ul'));
    list.forEach((w) => ul.appendChild(el('li', { text: w })));
    app.appendChild(box);
  }

  // ---- runs -------------------------------------------------------------------------
  function runCurves(d) {
    const groups = {};    // metric name -> split -> series key
    const other = [];
    for (const name of arr(d.names)) {
      const m = /^(train|valid|test)_(.+)$/.exec(name);
      if (m) (groups[m[2]] = groups[m[2]] || {})[m[1]] = name; else other.push(name);
    }
    const order = Object.keys(groups).sort((a, b) => {
      const rank = (k) => (k === 'loss' ? 0 : k === 'accuracy' ? 1 : 2);
      return rank(a) - rank(b) || a.localeCompare(b);
    });
    const g = section('Training curves');
    if (order.length === 0 && other.length === 0) note(g, 'metrics.jsonl has no rows.');
    for (const metric of order) {
      const bySplit = (xs) => ['train', 'valid', 'test'].filter((s) => groups[metric][s])
        .map((s) => ({ name: s, color: SPLIT_COLORS[s],
                       data: pairs(xs, d.series[groups[metric][s]]) }));
      lines(g, metric + '-epoch', metric + ' vs epoch', 'epoch', bySplit(d.epochs));
      if (d.wall) lines(g, metric + '-wall', metric + ' vs wall time', 'seconds',
                        bySplit(d.wall));
    }
    for (const name of other) {
      lines(g, name + '-epoch', name + ' vs epoch', 'epoch',
            [{ name: name, data: pairs(d.epochs, d.series[name]) }]);
    }
    const t = obj(d.timing);
    const tnames = arr(t.names);
    if (tnames.length > 0) {
      const tg = section('Timing (timing.jsonl)');
      const secs = tnames.filter((n) => /_seconds$/.test(n));
      if (secs.length) lines(tg, 'timing-seconds', 'seconds per epoch', 'epoch',
        secs.map((n) => ({ name: n, data: pairs(t.epochs, t.series[n]) })));
      for (const n of tnames.filter((n) => !/_seconds$/.test(n))) {
        lines(tg, 'timing-' + n, n + ' vs epoch', 'epoch',
              [{ name: n, data: pairs(t.epochs, t.series[n]) }]);
      }
    }
  }

  function heatmap(parent, name, title, m) {
    const cells = [];
    let lo = Infinity, hi = -Infinity;
    m.forEach((row, i) => row.forEach((v, j) => {
      cells.push([j, i, v]);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }));
    if (lo === hi) hi = lo + 1;
    const idx = (n) => Array.from({ length: n }, (_, k) => String(k));
    plot(parent, name, 'heatmap', title, {
      grid: { left: 50, right: 100, top: 40, bottom: 40 },
      xAxis: { type: 'category', data: idx(m[0].length), name: 'column',
               nameLocation: 'middle', nameGap: 25, splitArea: { show: false } },
      yAxis: { type: 'category', data: idx(m.length), inverse: true, name: 'row' },
      visualMap: { min: lo, max: hi, calculable: true, orient: 'vertical', right: 5,
                   formatter: fmt,
                   top: 'middle', itemHeight: 160,
                   inRange: { color: ['#f7fbff', '#6baed6', '#08306b'] } },
      series: [{ type: 'heatmap', data: cells, progressive: 0 }],
    }, cells.length);
  }

  function diagnostics(d) {
    const layers = arr(d.diagnostics);
    if (layers.length === 0) return;
    const g0 = section('Layer diagnostics');
    note(g0, 'Numbers over epochs as lines; lists as bars and tables of lists as heat maps, ' +
      'both of the last epoch (test split if reported, else valid, else train).');
    for (const L of layers) {
      add(app, el('h3', { text: 'layer ' + L.layer }));
      const g = put(app, el('div', { class: 'grid' }));
      const texts = [];
      for (const it of arr(L.items)) {
        const name = L.layer + '.' + it.path;
        if (it.kind === 'scalar') {
          lines(g, name, it.path, 'epoch', ['train', 'valid', 'test']
            .filter((s) => obj(it.series)[s])
            .map((s) => ({ name: s, color: SPLIT_COLORS[s],
                           data: pairs(d.epochs, it.series[s]) })));
        } else if (it.kind === 'vector') {
          const v = arr(it.value);
          plot(g, name, 'bar', it.path + ' (' + it.split + ', last epoch)', {
            grid: { left: 60, right: 20, top: 40, bottom: 40 },
            tooltip: { trigger: 'axis' },
            xAxis: { type: 'category', data: v.map((_, k) => String(k)), name: 'index',
                     nameLocation: 'middle', nameGap: 25 },
            yAxis: { type: 'value' },
            series: [{ type: 'bar', data: v, color: SPLIT_COLORS[it.split] }],
          }, v.length);
        } else if (it.kind === 'matrix') {
          heatmap(g, name, it.path + ' (' + it.split + ', last epoch, ' +
                  arr(it.value).length + 'x' + arr(it.value[0]).length + ')', it.value);
        } else {
          texts.push([it.path + (it.split ? ' (' + it.split + ')' : ''), it.value]);
        }
      }
      if (texts.length) app.appendChild(kvTable(texts));
    }
  }

  function pictures(d) {
    const list = arr(d.images);
    if (list.length === 0) return;
    const g = section('Images (*.pgm in the run directory)');
    for (const im of list) {
      const bytes = atob(im.gray);
      const c = el('canvas', { width: im.width, height: im.height });
      const ctx = c.getContext('2d');
      const img = ctx.createImageData(im.width, im.height);
      for (let k = 0; k < im.width * im.height; k++) {
        const v = bytes.charCodeAt(k);
        img.data[4 * k] = img.data[4 * k + 1] = img.data[4 * k + 2] = v;
        img.data[4 * k + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
      // Small images (a 28x28 gate map) are scaled up so that they can be seen.
      const scale = Math.max(1, Math.min(8, Math.floor(256 / Math.max(im.width, im.height))));
      c.style.width = im.width * scale + 'px';
      c.style.height = im.height * scale + 'px';
      g.appendChild(el('figure', null, c,
        el('figcaption', { text: im.name + ' (' + im.width + 'x' + im.height + ')' })));
      images.push({ name: im.name, width: im.width, height: im.height });
    }
  }

  function environment(d) {
    const m = obj(d.meta);
    const g = section('Configuration (config.json)');
    const args = Object.entries(obj(obj(d.config).args));
    if (args.length) add(g, el('div', null, el('h3', { text: 'arguments' }), kvTable(args)));
    add(g, el('pre', { text: JSON.stringify(d.config, null, 2) }));
    const e = section('Environment (meta.json)');
    const rows = [];
    for (const k of ['status', 'start_time', 'end_time', 'modlab', 'git_commit', 'seed',
                     'params', 'error']) if (m[k] !== undefined) rows.push([k, m[k]]);
    for (const [k, v] of Object.entries(obj(m.build))) rows.push(['build.' + k, v]);
    for (const [k, v] of Object.entries(obj(m.env))) rows.push(['env.' + k, v]);
    if (m.argv) rows.push(['argv', arr(m.argv).join(' ')]);
    add(e, el('div', null, kvTable(rows)));
    const byPath = {};
    for (const p of arr(m.plugins)) {
      const b = byPath[p.path] = byPath[p.path] || { sha256: p.sha256, entries: [] };
      b.entries.push(p.kind + ' ' + p.name + ' ' + p.version);
    }
    const t = el('table', null, el('tr', null, el('th', { text: 'plugin file' }),
      el('th', { text: 'sha256' }), el('th', { text: 'entries used or loaded' })));
    for (const [path, b] of Object.entries(byPath)) {
      add(t, el('tr', null, el('td', { text: path }), el('td', { text: b.sha256 || '' }),
        el('td', { text: b.entries.join(', ') })));
    }
    if (Object.keys(byPath).length) add(e, el('div', null, t));
  }

  function renderRun(d) {
    add(app, el('h1', { text: 'modlab run ' + d.title }));
    add(app, el('p', { class: 'sub', text: d.dir + (d.status ? ' \u2014 ' + d.status : '') }));
    warnings(d.warnings);
    if (d.summary) {
      const g = section('Summary (summary.json)');
      g.appendChild(kvTable(Object.entries(obj(d.summary))));
    }
    runCurves(d);
    diagnostics(d);
    pictures(d);
    environment(d);
  }

  // ---- sweeps -------------------------------------------------------------------------
  function sortable(header, rows) {
    const t = el('table', { class: 'sortable', id: 'results' });
    const head = el('tr');
    const body = el('tbody');
    let sortCol = -1, dir = 1;
    function fill() {
      body.textContent = '';
      for (const r of rows) {
        const tr = el('tr');
        r.forEach((v) => tr.appendChild(el('td', { class: isNum(v) ? 'num' : '',
                                                   text: fmt(v) })));
        body.appendChild(tr);
      }
    }
    header.forEach((h, k) => {
      const th = el('th', { text: h, title: 'sort by ' + h });
      th.addEventListener('click', () => {
        dir = sortCol === k ? -dir : 1;
        sortCol = k;
        rows.sort((a, b) => {
          const x = a[k], y = b[k];
          const mx = x === null || x === undefined || x === '', my = y === null ||
            y === undefined || y === '';
          if (mx !== my) return mx ? 1 : -1;   // empty cells last either way
          if (isNum(x) && isNum(y)) return (x - y) * dir;
          return String(x).localeCompare(String(y)) * dir;
        });
        head.querySelectorAll('th').forEach((e) => e.classList.remove('asc', 'desc'));
        th.classList.add(dir > 0 ? 'asc' : 'desc');
        fill();
      });
      head.appendChild(th);
    });
    add(t, el('thead', null, head), body);
    fill();
    return t;
  }

  function renderSweep(d) {
    const metric = obj(d.metric).name;
    const goal = obj(d.metric).goal || '';
    const header = arr(d.header);
    const rows = arr(d.rows);
    const col = (name) => header.indexOf(name);
    add(app, el('h1', { text: 'modlab sweep ' + d.title }));
    const counts = Object.entries(obj(d.counts)).map(([k, v]) => v + ' ' + k).join(', ');
    add(app, el('p', { class: 'sub', text: d.dir + ' \u2014 ' + (d.method || '?') +
      ', ' + rows.length + ' trials (' + counts + '), metric ' + (metric || 'none') +
      (goal ? ' (' + goal + ')' : '') }));
    warnings(d.warnings);

    const rs = section('Results (results.csv; click a column to sort)');
    rs.appendChild(add(el('div', { class: 'scroll' }), sortable(header, rows.slice())));

    const mcol = metric ? col(metric) : -1;
    const withMetric = mcol < 0 ? [] : rows.filter((r) => isNum(r[mcol]));
    const varying = [];
    const constant = [];
    const ps = section('Metric vs each parameter');
    if (mcol < 0) note(ps, 'The sweep has no metric.');
    for (const p of arr(d.params)) {
      const k = col(p);
      if (k < 0) continue;
      const values = [...new Set(rows.map((r) => r[k]))];
      if (values.length < 2) { constant.push(p + ' = ' + fmt(values[0])); continue; }
      const numeric = values.every(isNum);
      // Whole-number parameters (epochs, sizes) get whole-number ticks.
      const step = numeric && values.every(Number.isInteger) ? 1 : 0;
      varying.push({ name: p, k: k, numeric: numeric, values: values, step: step });
      if (mcol < 0) continue;
      // A parameter spanning a decade or more (learning rates) gets a log axis.
      const pos = numeric ? values.filter((v) => v > 0) : [];
      const logx = numeric && pos.length === values.length &&
        Math.max(...values) / Math.min(...values) >= 10;
      varying[varying.length - 1].log = logx;
      const cats = numeric ? null : values.map(String).sort();
      const pts = withMetric.map((r) => [numeric ? r[k] : String(r[k]), r[mcol]]);
      plot(ps, 'param-' + p, 'scatter', metric + ' vs ' + p, {
        grid: { left: 60, right: 20, top: 40, bottom: 45 },
        xAxis: numeric ? { type: logx ? 'log' : 'value', name: p, nameLocation: 'middle',
                           nameGap: 25, scale: true, minInterval: step,
                           axisLabel: { formatter: fmt } }
                       : { type: 'category', data: cats, name: p, nameLocation: 'middle',
                           nameGap: 25 },
        yAxis: { type: 'value', scale: true, axisLabel: { formatter: fmt } },
        series: [{ type: 'scatter', data: pts, symbolSize: 7 }],
      }, pts.length);
    }

    if (constant.length) note(ps, 'The same in every trial: ' + constant.join(', ') + '.');
    const pc = section('Parallel coordinates');
    if (varying.length === 0 || mcol < 0) {
      note(pc, 'Needs a metric and at least one parameter that varies.');
    } else {
      const axes = varying.map((v, i) => (v.numeric ?
        { dim: i, name: v.name, type: v.log ? 'log' : 'value', scale: true,
          minInterval: v.step, axisLabel: { formatter: fmt } } :
        { dim: i, name: v.name, type: 'category', data: v.values.map(String).sort() }));
      axes.push({ dim: varying.length, name: metric, type: 'value', scale: true });
      const lineData = withMetric.map((r) => varying.map((v) => (v.numeric ? r[v.k] :
        String(r[v.k]))).concat([r[mcol]]));
      const ms = withMetric.map((r) => r[mcol]);
      plot(pc, 'parallel', 'parallel', 'parameters and ' + metric + ' of each trial', {
        parallel: { left: 60, right: 140, top: 60, bottom: 30 },
        parallelAxis: axes,
        visualMap: { type: 'continuous', dimension: varying.length, min: Math.min(...ms),
                     max: Math.max(...ms) === Math.min(...ms) ? Math.min(...ms) + 1 :
                       Math.max(...ms), right: 5, top: 'middle', itemHeight: 160,
                     calculable: true, formatter: fmt,
                     // Good trials blue, bad ones red, whichever way the goal points.
                     inRange: { color: goal === 'minimize' ? GOOD_TO_BAD
                                                            : GOOD_TO_BAD.slice().reverse() } },
        series: [{ type: 'parallel', data: lineData, lineStyle: { width: 1.5, opacity: 0.6 },
                   progressive: 0 }],
      }, lineData.length, true);
    }

    const bs = section('Curves of the best trials');
    const best = arr(d.best);
    if (best.length === 0) note(bs, 'No trial has a metric yet.');
    else {
      const label = (b) => '#' + b.rank + ' ' + b.label;
      lines(bs, 'best-metric', metric + ' of the ' + best.length + ' best trials', 'epoch',
            best.map((b) => ({ name: label(b), data: pairs(b.epochs, b.values) })), true);
      const withLoss = best.filter((b) => b.loss_name && pairs(b.epochs, b.loss).length);
      if (withLoss.length) {
        lines(bs, 'best-loss', withLoss[0].loss_name + ' of the same trials', 'epoch',
              withLoss.map((b) => ({ name: label(b), data: pairs(b.epochs, b.loss) })), true);
      }
    }
  }

  // ---- self-check ---------------------------------------------------------------------
  function selfcheck() {
    const errors = window.modlabErrors || [];
    const out = [];
    for (const p of plots) {
      const canvas = p.box.querySelector('canvas') ? 1 : 0;
      out.push('plot ' + p.id + ' ' + p.kind + ' ' + p.points + ' canvas=' + canvas +
               ' ms=' + p.ms.toFixed(1));
    }
    for (const im of images) out.push('image ' + im.name + ' ' + im.width + 'x' + im.height);
    // Everything the page fetched (data: URLs are not fetches): must be none.
    const fetched = performance.getEntriesByType('resource')
      .filter((r) => !/^data:/.test(r.name));
    fetched.forEach((r) => out.push('resource ' + r.name));
    out.push('resources ' + fetched.length);
    errors.forEach((e) => out.push('error ' + String(e).replace(/\n/g, ' ')));
    out.push('errors ' + errors.length);
    // Milliseconds since navigation began: when this script started, when all was drawn.
    out.push('script_start_ms ' + scriptStart.toFixed(1));
    out.push('rendered_ms ' + performance.now().toFixed(1));
    out.push('status ' + (errors.length === 0 && fetched.length === 0 ? 'ok' : 'fail'));
    const pre = el('pre', { id: 'modlab-selfcheck', text: out.join('\n') + '\n' });
    pre.hidden = true;
    document.body.appendChild(pre);
  }

  try {
    if (data.kind === 'sweep') renderSweep(data); else renderRun(data);
  } catch (e) {
    (window.modlabErrors = window.modlabErrors || []).push('render: ' + e + ' ' + e.stack);
    app.appendChild(el('div', { class: 'warn', text: 'This page failed to draw: ' + e }));
  }
  window.addEventListener('resize', () => charts.forEach((c) => c.resize()));
  selfcheck();
})();
