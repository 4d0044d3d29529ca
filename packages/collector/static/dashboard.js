// The collector's dashboard. Plain browser JavaScript served as a file: the collector has no build
// step, and the Content-Security-Policy forbids inline scripts. Every value from an event is untrusted
// and reaches the page only through textContent or a canvas, never as markup.
/* global document, window, Chart */
const REFRESH_MS = 10_000;
// A page of groups, busiest first: the collector ranks and slices, so junk traffic with thousands of
// groups costs the page no more than this many table rows and chart series.
const PAGE_SIZE = 20;
const MAX_DEVICE_ROWS = 200;
const charts = {};
let offset = 0;
// The newest refresh wins. With tens of thousands of groups a stats query can outlast the 10 s
// refresh period: the timer then skips a beat instead of stacking queries on the collector, and an
// older answer arriving after a click (Next, Refresh) never overwrites the page the user asked for.
let latest = 0;
let inFlight = null;

const $ = (id) => document.getElementById(id);

function seriesName(group) {
  return `${group.model ?? '-'}@${group.version ?? '-'} ${group.variant ?? '-'} on ${group.backend ?? '-'} (${group.app})`;
}

// Whole minutes, about 60 points: the collector answers those from its minute rollups.
function bucketFor(rangeMs) {
  return Math.max(60_000, Math.round(rangeMs / 60 / 60_000) * 60_000);
}

async function getJson(path, token, signal) {
  const response = await fetch(path, { headers: { authorization: `Bearer ${token}` }, signal });
  const body = await response.json();
  if (!response.ok) throw new Error(`${body.code ?? response.status}: ${body.message ?? 'request failed'}`);
  return body;
}

function lineChart(id, datasets, yLabel) {
  const data = { datasets };
  if (charts[id]) {
    charts[id].data = data;
    charts[id].update('none');
    return;
  }
  charts[id] = new Chart($(id), {
    type: 'line',
    data,
    options: {
      animation: false,
      parsing: false,
      spanGaps: false,
      scales: {
        x: { type: 'linear', ticks: { callback: (value) => new Date(value).toLocaleTimeString() } },
        y: { beginAtZero: true, title: { display: true, text: yLabel } },
      },
      plugins: { legend: { position: 'bottom' } },
    },
  });
}

function seriesFromBuckets(buckets, pick) {
  const bySeries = new Map();
  for (const bucket of buckets) {
    const value = pick(bucket);
    if (value === null || value === undefined) continue;
    const name = seriesName(bucket);
    if (!bySeries.has(name)) bySeries.set(name, []);
    bySeries.get(name).push({ x: bucket.bucketStart, y: value });
  }
  return [...bySeries].map(([label, data]) => ({ label, data, pointRadius: 2, borderWidth: 1.5 }));
}

function fillTable(id, rows) {
  const body = $(id).querySelector('tbody');
  body.replaceChildren(
    ...rows.map((cells) => {
      const tr = document.createElement('tr');
      for (const cell of cells) {
        const td = document.createElement('td');
        if (typeof cell === 'object' && cell !== null) {
          td.textContent = cell.text;
          td.className = cell.className;
        } else td.textContent = String(cell);
        tr.append(td);
      }
      return tr;
    }),
  );
}

const fixed = (value, digits = 1) => (value === null || value === undefined ? '-' : Number(value).toFixed(digits));
const percent = (value) => `${(value * 100).toFixed(2)} %`;

async function refresh() {
  const ticket = ++latest;
  inFlight?.abort();
  const controller = new AbortController();
  inFlight = controller;
  try {
    await draw(ticket, controller.signal);
  } finally {
    if (inFlight === controller) inFlight = null;
  }
}

async function draw(ticket, signal) {
  const shownOffset = offset;
  const token = $('token').value;
  if (!token) {
    $('status').textContent = 'Enter the admin token printed by edgeinfer-collector at start.';
    return;
  }
  sessionStorage.setItem('edgeinfer-admin-token', token);
  const rangeMs = Number($('range').value);
  const to = Date.now();
  const params = new URLSearchParams({ from: String(to - rangeMs), to: String(to), bucket: `${bucketFor(rangeMs)}ms`, limit: String(PAGE_SIZE), offset: String(shownOffset) });
  const app = $('app').value.trim();
  if (app) params.set('app', app);
  const search = $('search').value.trim();
  if (search) params.set('search', search);
  try {
    const [stats, devices] = await Promise.all([getJson(`/v1/stats?${params}`, token, signal), getJson(`/v1/devices${app ? `?app=${encodeURIComponent(app)}` : ''}`, token, signal)]);
    if (ticket !== latest) return;
    lineChart('p50-chart', seriesFromBuckets(stats.buckets, (bucket) => bucket.p50), 'ms');
    lineChart('p95-chart', seriesFromBuckets(stats.buckets, (bucket) => bucket.p95), 'ms');
    lineChart(
      'rate-chart',
      [
        ...seriesFromBuckets(stats.buckets, (bucket) => (bucket.inferences + bucket.errors > 0 ? bucket.errorRate * 100 : null)).map((series) => ({ ...series, label: `errors % ${series.label}` })),
        ...seriesFromBuckets(stats.buckets, (bucket) => (bucket.inferences > 0 ? bucket.fallbackRate * 100 : null)).map((series) => ({ ...series, label: `fallbacks % ${series.label}`, borderDash: [4, 3] })),
      ],
      '%',
    );
    fillTable(
      'groups',
      stats.groups.map((group) => [group.app, group.model ?? '-', group.version ?? '-', group.variant ?? '-', group.backend ?? '-', group.count, fixed(group.qps, 3), percent(group.errorRate), percent(group.fallbackRate), fixed(group.p50), fixed(group.p95), fixed(group.p99)]),
    );
    const total = stats.totalGroups ?? stats.groups.length;
    $('page-info').textContent = total === 0 ? 'no groups' : `groups ${shownOffset + 1}-${shownOffset + stats.groups.length} of ${total}, busiest first`;
    $('prev').disabled = shownOffset === 0;
    $('next').disabled = shownOffset + PAGE_SIZE >= total;
    fillTable(
      'devices',
      devices.devices.slice(0, MAX_DEVICE_ROWS).map((device) => [
        device.app,
        device.deviceId,
        device.alive ? { text: 'alive', className: 'alive' } : { text: 'stale', className: 'stale' },
        new Date(device.lastSeen).toLocaleString(),
        fixed(device.fps),
        fixed(device.p50Ms),
        fixed(device.memoryBytes / 1_048_576),
        device.errors,
        `${Math.round(device.uptimeS / 60)} min`,
        device.libraryVersion,
      ]),
    );
    const shownDevices = devices.devices.length > MAX_DEVICE_ROWS ? ` (first ${MAX_DEVICE_ROWS} shown)` : '';
    $('status').textContent = `Updated ${new Date().toLocaleTimeString()}: ${stats.groups.reduce((sum, group) => sum + group.count, 0)} events in this page of ${total} groups, ${devices.devices.length} devices${shownDevices}.`;
  } catch (error) {
    if (ticket !== latest) return;
    $('status').textContent = `Could not load stats: ${error.message}`;
  }
}

window.addEventListener('DOMContentLoaded', () => {
  $('token').value = sessionStorage.getItem('edgeinfer-admin-token') ?? '';
  $('controls').addEventListener('submit', (event) => {
    event.preventDefault();
    offset = 0;
    void refresh();
  });
  $('prev').addEventListener('click', () => {
    offset = Math.max(0, offset - PAGE_SIZE);
    void refresh();
  });
  $('next').addEventListener('click', () => {
    offset += PAGE_SIZE;
    void refresh();
  });
  void refresh();
  window.setInterval(() => {
    if (inFlight === null) void refresh();
  }, REFRESH_MS);
});
