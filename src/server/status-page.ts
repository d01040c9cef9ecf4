/**
 * The status page as one HTML document: markup, style and a small script
 * that fetches the status JSON and redraws the tables and sparklines. It
 * loads nothing from elsewhere, builds every element with `textContent`
 * so no value from a log can become markup, and uses relative URLs so it
 * works behind a path prefix.
 */
import { createHash } from 'node:crypto';

/** What the document needs from the server. */
export interface StatusPageOptions {
  version: string;
  /** Where the metrics are served, such as `/metrics`. */
  telemetryPath: string;
  /** Seconds between refreshes of the figures. */
  refreshSeconds: number;
}

/** The document and the Content-Security-Policy that allows just it. */
export interface StatusPage {
  html: string;
  contentSecurityPolicy: string;
}

const STYLE = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { margin: 1.5rem; line-height: 1.4; }
h1 { font-size: 1.5rem; margin: 0 0 0.25rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 0.5rem; }
nav ul { list-style: none; padding: 0; display: flex; gap: 1.25rem; }
table { border-collapse: collapse; margin: 0 0 1rem; }
caption { text-align: left; font-weight: 600; padding: 0.25rem 0; }
th, td { border: 1px solid #8888; padding: 0.25rem 0.5rem; text-align: right; }
td { white-space: nowrap; font-variant-numeric: tabular-nums; }
th[scope='row'], thead th:first-child { text-align: left; }
thead th { font-weight: 600; }
td.trend { padding: 0 0.25rem; }
.spark { display: block; }
.spark path { fill: none; stroke: currentColor; stroke-width: 1.5;
  stroke-linecap: round; stroke-linejoin: round; }
.spark path.empty { stroke-dasharray: 2 3; opacity: 0.6; }
.down { font-weight: 700; text-decoration: underline; }
.note { font-style: italic; }
`;

const SCRIPT = `
(function () {
  'use strict';
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var live = document.getElementById('live');
  var updated = document.getElementById('updated');
  var refreshSeconds = Number(live.getAttribute('data-refresh-seconds')) || 5;
  var refreshMs = Math.max(250, refreshSeconds * 1000);
  // Hidden in the markup so that without JavaScript no empty tables show.
  live.hidden = false;

  function el(tag, text, attrs) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    for (var name in attrs || {}) node.setAttribute(name, attrs[name]);
    return node;
  }

  function svg(tag, attrs) {
    var node = document.createElementNS(SVG_NS, tag);
    for (var name in attrs || {}) node.setAttribute(name, attrs[name]);
    return node;
  }

  function missing(v) { return typeof v !== 'number' || !isFinite(v); }

  function bytes(v) {
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return v.toFixed(i === 0 ? 0 : 1) + ' ' + units[i];
  }

  var format = {
    rate: function (v) { return missing(v) ? 'n/a' : v.toFixed(2); },
    ms: function (v) { return missing(v) ? 'n/a' : (v * 1000).toFixed(1) + ' ms'; },
    percent: function (v) { return missing(v) ? 'n/a' : (v * 100).toFixed(1) + ' %'; },
    bytes: function (v) { return missing(v) ? 'n/a' : bytes(v); },
    bytesRate: function (v) { return missing(v) ? 'n/a' : bytes(v) + '/s'; }
  };

  function duration(seconds) {
    if (!(seconds > 0)) return 'no complete interval yet';
    var m = Math.floor(seconds / 60), s = Math.round(seconds - m * 60);
    return m > 0 ? m + ' min ' + s + ' s' : s + ' s';
  }

  /* Draws values left to right, zero at the bottom; gaps stay gaps. */
  function sparkline(values, label, show) {
    var width = 120, height = 24, pad = 2;
    var present = values.filter(function (v) { return !missing(v); });
    var top = Math.max.apply(null, present.concat([0])) || 1;
    var step = values.length > 1 ? (width - 2 * pad) / (values.length - 1) : 0;
    var d = '', drawing = false;
    values.forEach(function (v, i) {
      if (missing(v)) { drawing = false; return; }
      var x = (pad + i * step).toFixed(1);
      var y = (height - pad - (v / top) * (height - 2 * pad)).toFixed(1);
      d += drawing ? ' L' + x + ' ' + y : ' M' + x + ' ' + y + ' h0';
      drawing = true;
    });
    if (values.length === 1 && present.length === 1) d += ' H' + (width - pad);
    var summary = present.length === 0
      ? label + ': no data yet'
      : label + ' over ' + values.length + ' readings: latest ' +
        show(values[values.length - 1]) +
        ', highest ' + show(Math.max.apply(null, present));
    var box = svg('svg', { 'class': 'spark', width: width, height: height,
      viewBox: '0 0 ' + width + ' ' + height, role: 'img', 'aria-label': summary });
    var title = svg('title');
    title.textContent = summary;
    box.appendChild(title);
    var baseline = 'M' + pad + ' ' + (height - pad) + ' H' + (width - pad);
    box.appendChild(svg('path', d ? { d: d.trim() } : { d: baseline, 'class': 'empty' }));
    return box;
  }

  var COLUMNS = [
    { head: 'Requests per second', field: 'qps', show: format.rate },
    { head: 'Requests per second, trend', trend: 'qps', show: format.rate },
    { head: 'Latency p50', field: 'latencyP50Seconds', show: format.ms },
    { head: 'Latency p99', field: 'latencyP99Seconds', show: format.ms },
    { head: 'Latency p99, trend', trend: 'p99', show: format.ms },
    { head: 'Error ratio', field: 'errorRatio', show: format.percent },
    { head: 'Precision', field: 'precision', show: format.percent },
    { head: 'Precision, trend', trend: 'precision', show: format.percent },
    { head: 'Recall', field: 'recall', show: format.percent },
    { head: 'F1', field: 'f1', show: format.percent }
  ];

  function groups(models) {
    var byKey = new Map();
    models.forEach(function (m) {
      var key = JSON.stringify([m.model, m.version]);
      if (!byKey.has(key)) {
        byKey.set(key, { model: m.model, version: m.version, rows: [] });
      }
      byKey.get(key).rows.push(m);
    });
    return Array.from(byKey.values());
  }

  function modelRow(m) {
    var tr = el('tr', null,
      { 'data-model': m.model, 'data-version': m.version, 'data-scene': m.scene });
    tr.appendChild(el('th', m.scene, { scope: 'row' }));
    COLUMNS.forEach(function (c) {
      if (c.trend) {
        var cell = el('td', null, { 'class': 'trend', 'data-trend': c.trend });
        var label = c.head.replace(', trend', '');
        cell.appendChild(sparkline(m.history[c.trend], label, c.show));
        tr.appendChild(cell);
      } else {
        tr.appendChild(el('td', c.show(m[c.field]), { 'data-field': c.field }));
      }
    });
    return tr;
  }

  function headRow(names) {
    var tr = el('tr');
    names.forEach(function (n) { tr.appendChild(el('th', n, { scope: 'col' })); });
    var thead = el('thead');
    thead.appendChild(tr);
    return thead;
  }

  function modelTable(group) {
    var table = el('table');
    var caption = el('caption', 'Model ');
    caption.appendChild(el('strong', group.model));
    caption.appendChild(document.createTextNode(', version '));
    caption.appendChild(el('strong', group.version));
    table.appendChild(caption);
    var heads = ['Scene'].concat(COLUMNS.map(function (c) { return c.head; }));
    table.appendChild(headRow(heads));
    var body = table.appendChild(el('tbody'));
    group.rows.forEach(function (m) { body.appendChild(modelRow(m)); });
    return table;
  }

  function hostRow(name, field, text, trend, show) {
    var tr = el('tr', null, { 'data-host': field });
    tr.appendChild(el('th', name, { scope: 'row' }));
    tr.appendChild(el('td', text, { 'data-field': field }));
    var cell = el('td', null, { 'class': 'trend' });
    cell.appendChild(sparkline(trend, name, show));
    tr.appendChild(cell);
    return tr;
  }

  function hostTable(host) {
    var h = host.history;
    var memory = missing(host.memoryUsedBytes) ? 'n/a'
      : format.bytes(host.memoryUsedBytes) + ' of ' +
        format.bytes(host.memoryTotalBytes) +
        ' (' + format.percent(host.memoryUtilization) + ')';
    var rows = [
      ['CPU in use', 'cpuUtilization', format.percent(host.cpuUtilization),
        h.cpuUtilization, format.percent],
      ['Memory in use', 'memory', memory, h.memoryUtilization, format.percent],
      ['Network receive', 'networkReceiveBytesPerSecond',
        format.bytesRate(host.networkReceiveBytesPerSecond),
        h.networkReceiveBytesPerSecond, format.bytesRate],
      ['Network transmit', 'networkTransmitBytesPerSecond',
        format.bytesRate(host.networkTransmitBytesPerSecond),
        h.networkTransmitBytesPerSecond, format.bytesRate]
    ];
    var table = el('table');
    table.appendChild(el('caption', 'Host resources'));
    table.appendChild(headRow(['Resource', 'Now', 'Trend']));
    var body = table.appendChild(el('tbody'));
    rows.forEach(function (r) { body.appendChild(hostRow.apply(null, r)); });
    return table;
  }

  function probeTable(probes) {
    var table = el('table');
    table.appendChild(el('caption', 'Health probes'));
    table.appendChild(headRow(['Target', 'State']));
    var body = table.appendChild(el('tbody'));
    probes.forEach(function (p) {
      var tr = el('tr', null, { 'data-target': p.target });
      tr.appendChild(el('th', p.target, { scope: 'row' }));
      // Words, not colour: a failed probe reads DOWN, bold and underlined.
      var cell = el('td', p.up ? 'up' : 'DOWN', { 'data-field': 'up' });
      cell.className = p.up ? 'up' : 'down';
      tr.appendChild(cell);
      body.appendChild(tr);
    });
    return table;
  }

  function fill(id, nodes) {
    var region = document.getElementById(id);
    region.replaceChildren.apply(region, nodes);
  }

  function render(status) {
    live.setAttribute('aria-busy', 'true');
    fill('models', status.models.length
      ? groups(status.models).map(modelTable)
      : [el('p', 'No inference requests seen yet.', { 'class': 'note' })]);
    fill('probes', status.probes.length
      ? [probeTable(status.probes)]
      : [el('p', 'No health probes are configured.', { 'class': 'note' })]);
    fill('host', [hostTable(status.host)]);
    var at = new Date(status.generatedAt).toLocaleTimeString();
    updated.textContent = 'Updated at ' + at +
      '; figures cover the last ' + duration(status.windowSeconds) + '.';
    live.setAttribute('aria-busy', 'false');
  }

  function refresh() {
    fetch('api/v1/status', { cache: 'no-store', headers: { Accept: 'application/json' } })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      })
      .then(render)
      .catch(function (err) {
        live.setAttribute('aria-busy', 'false');
        updated.textContent = 'Could not refresh the figures (' + err.message +
          '); the last ones received stay shown.';
      })
      .finally(function () { setTimeout(refresh, refreshMs); });
  }

  refresh();
})();
`;

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64');
}

/** Text safe inside HTML elements and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A link relative to the page, so that a proxy serving the exporter
 * under a prefix keeps the prefix. `./` keeps a colon in the path from
 * reading as a URL scheme.
 */
export function relativeLink(path: string): string {
  return `./${path.replace(/^\/+/, '')}`;
}

/** The status page for these options. */
export function statusPage(options: StatusPageOptions): StatusPage {
  const version = escapeHtml(options.version);
  const metrics = escapeHtml(relativeLink(options.telemetryPath));
  const refresh = escapeHtml(String(options.refreshSeconds));
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>inference-exporter status</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>inference-exporter</h1>
<p>Prometheus exporter for model servers, version ${version}.</p>
<nav aria-label="Endpoints">
<ul>
<li><a href="${metrics}">Metrics</a></li>
<li><a href="./-/healthy">Health</a></li>
<li><a href="./-/ready">Readiness</a></li>
<li><a href="./api/v1/status">Status as JSON</a></li>
</ul>
</nav>
</header>
<main>
<noscript><p class="note">The live figures on this page need JavaScript,
which is off. The same figures are in the status JSON and the metrics
linked above.</p></noscript>
<div id="live" hidden aria-live="polite" aria-busy="false" data-refresh-seconds="${refresh}">
<p id="updated" class="note"></p>
<section aria-labelledby="models-heading">
<h2 id="models-heading">Models</h2>
<div id="models"></div>
</section>
<section aria-labelledby="probes-heading">
<h2 id="probes-heading">Probes</h2>
<div id="probes"></div>
</section>
<section aria-labelledby="host-heading">
<h2 id="host-heading">Host</h2>
<div id="host"></div>
</section>
</div>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
  const contentSecurityPolicy = [
    "default-src 'none'",
    `script-src 'sha256-${sha256(SCRIPT)}'`,
    `style-src 'sha256-${sha256(STYLE)}'`,
    "connect-src 'self'",
    // The empty icon keeps browsers from asking for /favicon.ico.
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, contentSecurityPolicy };
}
