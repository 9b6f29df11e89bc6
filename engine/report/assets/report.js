// The report page: reads the study's data (the JSON block the C++ side wrote) and draws each plot
// with Apache ECharts. window.leptonReport tracks which charts finished rendering and any error, so
// a browser test (and a person with the console open) can tell that every plot is there.
(function () {
  'use strict';

  var status = { charts: 0, rendered: 0, errors: [], ready: false, timings: { start: performance.now() } };
  window.leptonReport = status;
  window.addEventListener('error', function (event) { status.errors.push(String(event.message)); });

  var data = JSON.parse(document.getElementById('lepton-data').textContent);
  var trials = data.trials;
  var objectives = data.study.objectives;
  var many = trials.number.length > 2000;  // big studies: no animations, lighter symbols
  var palette = ['#3358c4', '#e07b00', '#2a9d55', '#c23b6b', '#7a52c7', '#00838f'];

  // ---- helpers -------------------------------------------------------------------------------
  function fmt(v) {
    if (v === null || v === undefined) return '-';
    if (typeof v !== 'number') return String(v);
    if (!isFinite(v)) return String(v);
    if (Number.isInteger(v)) return String(v);
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(3).replace(/\.?0+e/, 'e');
    return String(Number(v.toPrecision(4)));
  }
  function duration(s) {
    if (s === null || s === undefined) return '-';
    if (s < 1) return Math.round(s * 1000) + ' ms';
    if (s < 60) return s.toFixed(1) + ' s';
    if (s < 3600) return Math.floor(s / 60) + 'm' + String(Math.floor(s % 60)).padStart(2, '0') + 's';
    return Math.floor(s / 3600) + 'h' + String(Math.floor((s % 3600) / 60)).padStart(2, '0') + 'm';
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function objectiveLabel(o) { return o.metric + (o.direction === 'maximize' ? ' (max)' : ' (min)'); }
  function mount(container, option) {
    status.charts += 1;
    var chart = echarts.init(container, null, { renderer: 'canvas' });
    var done = false;
    chart.on('finished', function () {
      if (done) return;
      done = true;
      container.setAttribute('data-rendered', 'true');
      status.rendered += 1;
      status.timings[container.id] = Math.round(performance.now());
      if (status.rendered === status.charts) {
        status.ready = true;
        document.body.setAttribute('data-ready', 'true');
      }
    });
    option.animation = !many;
    chart.setOption(option);
    window.addEventListener('resize', function () { chart.resize(); });
    return chart;
  }
  function guarded(name, draw) {
    try { draw(); } catch (e) { status.errors.push(name + ': ' + e.message); console.error(name, e); }
  }
  var tooltipBase = { confine: true, backgroundColor: 'rgba(255,255,255,0.96)', textStyle: { fontSize: 12 } };
  function trialTip(i) {
    var lines = ['<b>trial ' + trials.number[i] + '</b> ' + trials.state[i]];
    objectives.forEach(function (o, k) { lines.push(o.metric + ': ' + fmt(trials.values[k][i])); });
    data.params.forEach(function (p, j) {
      var v = trials.params[j][i];
      if (v !== null) lines.push(p.name + ': ' + fmt(v));
    });
    return lines.join('<br>');
  }

  // ---- header --------------------------------------------------------------------------------
  guarded('summary', function () {
    document.getElementById('title').textContent = 'Study ' + data.study.name;
    var created = new Date(data.study.created_at * 1000).toLocaleString();
    document.getElementById('subtitle').textContent = objectives.map(objectiveLabel).join(', ') + ' \u00b7 searcher ' +
      data.study.searcher + ' \u00b7 ' + data.study.storage + ' \u00b7 created ' + created;
    var summary = document.getElementById('summary');
    function stat(value, label, cls) {
      var box = el('div', { 'class': 'stat' + (cls ? ' ' + cls : '') });
      box.appendChild(el('b', {}, value));
      box.appendChild(el('span', {}, label));
      summary.appendChild(box);
      return box;
    }
    stat(String(trials.number.length), 'trials');
    ['COMPLETE', 'PRUNED', 'FAIL', 'RUNNING'].forEach(function (s) {
      if (data.counts[s]) stat(String(data.counts[s]), s.toLowerCase());
    });
    if (data.best !== null) {
      var i = data.best;
      var text = objectives.map(function (o, k) { return o.metric + ' ' + fmt(trials.values[k][i]); }).join(', ');
      var label = (objectives.length > 1 ? 'best ' + objectives[0].metric + ': trial #' : 'best trial #') + trials.number[i];
      var box = stat(text, label, 'best');
      var params = data.params.map(function (p, j) {
        return trials.params[j][i] === null ? null : p.name + '=' + fmt(trials.params[j][i]);
      }).filter(Boolean).join('  ');
      box.appendChild(el('br'));
      box.appendChild(el('code', {}, params));
    }
    document.getElementById('footer').textContent = 'Generated by ' + data.generator + ' on ' +
      new Date(data.generated_at * 1000).toLocaleString() + '. Charts: Apache ECharts ' + echarts.version +
      ' (Apache-2.0), embedded in this file.';
  });

  // ---- optimization history ------------------------------------------------------------------
  guarded('history', function () {
    var holder = document.getElementById('history-charts');
    data.history.forEach(function (h, k) {
      var div = el('div', { 'class': 'chart', id: 'chart-history-' + k });
      holder.appendChild(div);
      var points = h.numbers.map(function (n, i) { return [n, h.values[i]]; });
      var best = h.numbers.map(function (n, i) { return [n, h.best[i]]; });
      mount(div, {
        color: [palette[k % palette.length], '#d62728'],
        title: { text: objectiveLabel(objectives[k]), left: 'center', textStyle: { fontSize: 13 } },
        tooltip: Object.assign({ trigger: 'item' }, tooltipBase),
        legend: { top: 24, data: ['trial', 'best so far'] },
        grid: { left: 60, right: 24, top: 60, bottom: 44 },
        xAxis: { type: 'value', name: 'trial', nameLocation: 'middle', nameGap: 26, min: 0 },
        yAxis: { type: 'value', name: objectives[k].metric, scale: true },
        dataZoom: [{ type: 'inside' }],
        series: [
          { name: 'trial', type: 'scatter', data: points, symbolSize: many ? 3 : 6, large: many,
            itemStyle: { opacity: 0.7 },
            tooltip: { formatter: function (p) { return 'trial ' + p.value[0] + ': ' + fmt(p.value[1]); } } },
          { name: 'best so far', type: 'line', step: 'end', data: best, showSymbol: false, lineStyle: { width: 2 },
            tooltip: { formatter: function (p) { return 'best after trial ' + p.value[0] + ': ' + fmt(p.value[1]); } } }
        ]
      });
    });
    if (data.history.length === 0)
      holder.appendChild(el('p', { 'class': 'muted' }, 'No COMPLETE trial yet.'));
  });

  // ---- Pareto front ----------------------------------------------------------------------------
  guarded('pareto', function () {
    if (objectives.length < 2) return;
    document.getElementById('section-pareto').hidden = false;
    var front = {};
    data.pareto.forEach(function (i) { front[i] = true; });
    var others = [], members = [];
    for (var i = 0; i < trials.number.length; i++) {
      if (trials.state[i] !== 'COMPLETE' || trials.values[0][i] === null || trials.values[1][i] === null) continue;
      (front[i] ? members : others).push([trials.values[0][i], trials.values[1][i], i]);
    }
    members.sort(function (a, b) { return a[0] - b[0]; });
    document.getElementById('pareto-note').textContent = data.pareto.length + ' of ' + (members.length + others.length) +
      ' COMPLETE trials are on the front (no other trial is at least as good in every objective and better in one).' +
      (objectives.length > 2 ? ' Plotted: the first two of ' + objectives.length + ' objectives.' : '');
    var tip = { formatter: function (p) { return trialTip(p.value[2]); } };
    mount(document.getElementById('chart-pareto'), {
      color: ['#9aa3b2', '#d62728'],
      tooltip: Object.assign({ trigger: 'item' }, tooltipBase),
      legend: { top: 0, data: ['dominated', 'Pareto front'] },
      grid: { left: 64, right: 24, top: 36, bottom: 48 },
      xAxis: { type: 'value', name: objectiveLabel(objectives[0]), nameLocation: 'middle', nameGap: 28, scale: true },
      yAxis: { type: 'value', name: objectiveLabel(objectives[1]), scale: true },
      series: [
        { name: 'dominated', type: 'scatter', data: others, symbolSize: many ? 3 : 6, large: many, itemStyle: { opacity: 0.5 }, tooltip: tip },
        { name: 'Pareto front', type: 'line', data: members, step: false, symbolSize: 8, lineStyle: { type: 'dashed' }, tooltip: tip }
      ]
    });
  });

  // ---- parallel coordinates ------------------------------------------------------------------
  guarded('parallel', function () {
    var axes = [];
    data.params.forEach(function (p, j) {
      var axis = { dim: j, name: p.name };
      if (p.type === 'categorical') {
        axis.type = 'category';
        axis.data = p.choices.map(String);
      } else {
        axis.type = p.log ? 'log' : 'value';
        axis.min = p.low;
        axis.max = p.high;
      }
      axes.push(axis);
    });
    var first = data.params.length;
    objectives.forEach(function (o, k) { axes.push({ dim: first + k, name: o.metric, type: 'value', scale: true }); });
    var rows = [], lo = Infinity, hi = -Infinity;
    for (var i = 0; i < trials.number.length; i++) {
      if (trials.state[i] !== 'COMPLETE' || trials.values[0][i] === null) continue;
      var row = data.params.map(function (p, j) {
        var v = trials.params[j][i];
        if (v === null) return '-';  // inactive conditional parameter
        return p.type === 'categorical' ? String(v) : v;
      });
      objectives.forEach(function (o, k) { row.push(trials.values[k][i]); });
      row.push(i);
      rows.push(row);
      lo = Math.min(lo, trials.values[0][i]);
      hi = Math.max(hi, trials.values[0][i]);
    }
    var maximize = objectives[0].direction === 'maximize';
    mount(document.getElementById('chart-parallel'), {
      tooltip: Object.assign({ trigger: 'item', formatter: function (p) { return trialTip(p.value[p.value.length - 1]); } }, tooltipBase),
      parallelAxis: axes,
      parallel: { left: 60, right: 140, top: 50, bottom: 40, parallelAxisDefault: { nameLocation: 'end', nameGap: 16, nameTextStyle: { fontSize: 12 } } },
      visualMap: {
        type: 'continuous', dimension: first, min: isFinite(lo) ? lo : 0, max: isFinite(hi) && hi > lo ? hi : lo + 1,
        inRange: { color: maximize ? ['#c7d2ea', '#3358c4', '#0b1f66'] : ['#0b1f66', '#3358c4', '#c7d2ea'] },
        right: 8, top: 'middle', calculable: true, precision: 4, text: [objectives[0].metric, ''], itemHeight: 160
      },
      series: [{ type: 'parallel', data: rows, smooth: false, progressive: 1000,
                 lineStyle: { width: 1, opacity: many ? 0.15 : 0.5 }, emphasis: { lineStyle: { width: 2, opacity: 1 } } }]
    });
  });

  // ---- parameter importances ------------------------------------------------------------------
  guarded('importance', function () {
    var usable = data.importance.filter(function (r) { return r.params.length > 0; });
    var note = document.getElementById('importance-note');
    var method = 'Permutation importance on a random-forest surrogate: how much the forest\u2019s out-of-bag error grows when one ' +
      'parameter\u2019s values are shuffled, as a share of the total.';
    if (usable.length === 0) {
      note.textContent = method + ' Not computed: ' + (data.importance.length ? data.importance[0].note : 'no objective') + '.';
      document.getElementById('chart-importance').style.height = '120px';
    } else {
      note.textContent = method + ' ' + usable.map(function (r) {
        return r.objective + ': ' + r.trials_used + ' trials, surrogate out-of-bag R\u00b2 ' + r.surrogate_r2.toFixed(2) +
          (r.surrogate_r2 < 0.2 ? ' (low: the forest explains little of it, so read these shares as noise)' : '');
      }).join('; ') + '.';
    }
    var names = data.params.map(function (p) { return p.name; });
    if (usable.length) {  // most important (for the first objective) on top
      var order = usable[0].params.map(function (p) { return p.name; });
      names.sort(function (a, b) { return order.indexOf(b) - order.indexOf(a); });
    }
    var series = usable.map(function (r, k) {
      var share = {};
      r.params.forEach(function (p) { share[p.name] = p; });
      return {
        name: r.objective, type: 'bar', barMaxWidth: 22,
        data: names.map(function (n) { return share[n] ? Number((share[n].share * 100).toFixed(2)) : 0; }),
        label: { show: true, position: 'right', formatter: function (p) { return p.value.toFixed(1) + '%'; }, fontSize: 11 }
      };
    });
    mount(document.getElementById('chart-importance'), {
      color: palette,
      tooltip: Object.assign({ trigger: 'axis', axisPointer: { type: 'shadow' } }, tooltipBase),
      legend: { top: 0, show: usable.length > 1 },
      grid: { left: 12, right: 56, top: usable.length > 1 ? 28 : 8, bottom: 24, containLabel: true },
      xAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
      yAxis: { type: 'category', data: names },
      series: series
    });
  });

  // ---- learning curves -------------------------------------------------------------------------
  // One `lines` series per state (polylines drawn in batches) keeps 10,000 curves fast.
  guarded('curves', function () {
    var curves = data.curves;
    var metric = objectives[0].metric;
    var groups = { COMPLETE: [], PRUNED: [], other: [] }, prunedEnds = [], best = [];
    var maxStep = 0, lo = Infinity, hi = -Infinity;  // lines series do not widen the axes themselves
    for (var c = 0; c < curves.index.length; c++) {
      var i = curves.index[c], steps = curves.steps[c], values = curves.values[c];
      var coords = [];
      for (var s = 0; s < steps.length; s++) {
        if (values[s] === null) continue;
        coords.push([steps[s], values[s]]);
        maxStep = Math.max(maxStep, steps[s]);
        lo = Math.min(lo, values[s]);
        hi = Math.max(hi, values[s]);
      }
      if (coords.length === 0) continue;
      if (i === data.best) best = coords.map(function (xy) { return [xy[0], xy[1], i]; });
      else (groups[trials.state[i]] || groups.other).push({ coords: coords.length > 1 ? coords : [coords[0], coords[0]], trial: i });
      if (trials.state[i] === 'PRUNED') prunedEnds.push([coords[coords.length - 1][0], coords[coords.length - 1][1], i]);
    }
    document.getElementById('curves-note').textContent = curves.index.length ?
      'The value reported after each epoch (' + metric + '), one line per trial; pruned trials in orange, each marked ' +
      'with a triangle where it was stopped; the best trial in red.' : 'No trial reported per-epoch values.';
    var pointTip = { formatter: function (p) {
      var i = p.value[2];
      return 'trial ' + trials.number[i] + ' (' + trials.state[i] + '), epoch ' + p.value[0] + ': ' + fmt(p.value[1]);
    } };
    // An axis end rounded outwards to a tenth of the data's span's order of magnitude.
    function nice(v, other, round) {
      if (!isFinite(v)) return null;
      var step = Math.pow(10, Math.floor(Math.log10(Math.abs(v - other) || Math.abs(v) || 1)) - 1);
      return round(v / step) * step;
    }
    var lineTip = { formatter: function (p) { return p.data && p.data.trial !== undefined ? trialTip(p.data.trial) : ''; } };
    var faint = many ? 0.1 : 0.45;
    var curveSeries = function (name, polylines, color) {
      return { name: name, type: 'lines', coordinateSystem: 'cartesian2d', polyline: true, data: polylines,
               large: polylines.length > 1000, largeThreshold: 1000, progressive: 2000, color: color,
               lineStyle: { width: 1, opacity: faint, color: color }, tooltip: lineTip, silent: many };
    };
    mount(document.getElementById('chart-curves'), {
      tooltip: Object.assign({ trigger: 'item' }, tooltipBase),
      legend: { top: 0, data: ['complete', 'pruned', 'failed / running', 'best trial', 'pruned here'] },
      grid: { left: 60, right: 24, top: 36, bottom: 44 },
      xAxis: { type: 'value', name: 'epoch', nameLocation: 'middle', nameGap: 26, min: 0, max: Math.max(1, maxStep) },
      yAxis: { type: 'value', name: metric, scale: true, min: nice(lo, hi, Math.floor), max: nice(hi, lo, Math.ceil),
               axisLabel: { formatter: fmt } },
      series: [
        curveSeries('complete', groups.COMPLETE, '#3358c4'),
        curveSeries('pruned', groups.PRUNED, '#e07b00'),
        curveSeries('failed / running', groups.other, '#9aa3b2'),
        { name: 'best trial', type: 'line', data: best, showSymbol: false, color: '#d62728', lineStyle: { width: 2.5 },
          tooltip: pointTip, z: 5 },
        { name: 'pruned here', type: 'scatter', data: prunedEnds, symbol: 'triangle', symbolSize: 6,
          color: '#b35900', large: prunedEnds.length > 2000,
          tooltip: pointTip, z: 4 }
      ]
    });
  });

  // ---- trials table --------------------------------------------------------------------------
  guarded('table', function () {
    var pageSize = 50, page = 0, filter = '', sortColumn = null, ascending = false;
    var paretoSet = {};
    data.pareto.forEach(function (i) { paretoSet[i] = true; });
    var rankOf = {};
    data.order.forEach(function (i, r) { if (trials.state[i] === 'COMPLETE' && trials.values[0][i] !== null) rankOf[i] = r + 1; });
    var columns = [
      { name: 'rank', get: function (i) { return rankOf[i] === undefined ? null : rankOf[i]; } },
      { name: '#', get: function (i) { return trials.number[i]; } },
      { name: 'state', text: true, get: function (i) { return trials.state[i]; } }
    ];
    objectives.forEach(function (o, k) { columns.push({ name: objectiveLabel(o), get: function (i) { return trials.values[k][i]; } }); });
    Object.keys(trials.extra).forEach(function (name) {
      columns.push({ name: name, get: function (i) { return trials.extra[name][i]; } });
    });
    data.params.forEach(function (p, j) {
      columns.push({ name: p.name, text: p.type === 'categorical', get: function (i) { return trials.params[j][i]; } });
    });
    columns.push({ name: 'duration', get: function (i) { return trials.duration[i]; }, show: duration });

    var table = document.getElementById('trials-table');
    var head = el('tr');
    columns.forEach(function (c, k) {
      var th = el('th', { 'class': c.text ? 'text' : '' }, c.name);
      th.addEventListener('click', function () {
        ascending = sortColumn === k ? !ascending : (k === 0 || k === 1 || c.text);
        sortColumn = k;
        page = 0;
        render();
      });
      head.appendChild(th);
    });
    table.tHead.appendChild(head);

    var select = document.getElementById('state-filter');
    ['COMPLETE', 'PRUNED', 'FAIL', 'RUNNING', 'WAITING'].forEach(function (s) {
      if (data.counts[s]) select.appendChild(el('option', { value: s }, s + ' (' + data.counts[s] + ')'));
    });
    select.addEventListener('change', function () { filter = select.value; page = 0; render(); });
    document.getElementById('page-prev').addEventListener('click', function () { if (page > 0) { page--; render(); } });
    document.getElementById('page-next').addEventListener('click', function () { page++; render(); });

    function rows() {
      var list = data.order.filter(function (i) { return !filter || trials.state[i] === filter; });
      if (sortColumn === null) return list;
      var get = columns[sortColumn].get;
      return list.slice().sort(function (a, b) {
        var x = get(a), y = get(b);
        if (x === null || y === null) return x === y ? 0 : (x === null ? 1 : -1);  // blanks last
        if (x < y) return ascending ? -1 : 1;
        if (x > y) return ascending ? 1 : -1;
        return trials.number[a] - trials.number[b];
      });
    }
    function render() {
      var list = rows();
      var pages = Math.max(1, Math.ceil(list.length / pageSize));
      page = Math.min(page, pages - 1);
      var body = document.createElement('tbody');
      list.slice(page * pageSize, (page + 1) * pageSize).forEach(function (i) {
        var tr = el('tr', { 'class': paretoSet[i] && objectives.length > 1 ? 'pareto' : '' });
        if (trials.error[i]) tr.title = trials.error[i];
        columns.forEach(function (c) {
          var v = c.get(i);
          var cls = (c.text ? 'text' : '') + (c.name === 'state' ? ' state-' + v : '');
          tr.appendChild(el('td', { 'class': cls }, c.show ? c.show(v) : fmt(v)));
        });
        body.appendChild(tr);
      });
      table.replaceChild(body, table.tBodies[0]);
      Array.prototype.forEach.call(head.children, function (th, k) {
        th.classList.toggle('sorted', k === sortColumn);
        th.classList.toggle('asc', k === sortColumn && ascending);
      });
      document.getElementById('table-count').textContent = list.length + ' trials' +
        (objectives.length > 1 ? '; Pareto-front trials are marked at the left' : '') + '; hover a row for a failure\u2019s reason; click a header to sort';
      document.getElementById('page-label').textContent = 'page ' + (page + 1) + ' of ' + pages;
    }
    render();
  });

  if (status.charts === 0) { status.ready = true; document.body.setAttribute('data-ready', 'true'); }
})();
