// The dashboard's operator panels: canary vs baseline (GET /v1/compare, for every canary in the served
// manifest or a pair typed in), the audit log of manifest changes, and the log records of devices.
// As in dashboard.js, every value from an event reaches the page through textContent only.
/* global document, window */
const OPS_REFRESH_MS = 10_000;
const LOG_ROWS = 200;

const byId = (id) => document.getElementById(id);
const token = () => byId('token').value || sessionStorage.getItem('edgeinfer-admin-token') || '';

async function adminJson(path) {
  const response = await fetch(path, { headers: { authorization: `Bearer ${token()}` } });
  const body = await response.json();
  if (!response.ok) throw new Error(`${body.code ?? response.status}: ${body.message ?? 'request failed'}`);
  return body;
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function rows(tableId, cells) {
  byId(tableId)
    .querySelector('tbody')
    .replaceChildren(
      ...cells.map((row) => {
        const tr = document.createElement('tr');
        for (const cell of row) tr.append(typeof cell === 'object' && cell !== null ? element('td', cell.text, cell.className) : element('td', cell));
        return tr;
      }),
    );
}

const pct = (value) => (value === null || value === undefined ? '-' : `${(value * 100).toFixed(2)} %`);
const num = (value, digits = 3) => (value === null || value === undefined ? '-' : Number(value).toFixed(digits));
const pValue = (check) => (check.significance.pValue === null ? '-' : check.significance.pValue < 1e-4 ? check.significance.pValue.toExponential(1) : check.significance.pValue.toFixed(4));

/** One comparison as a small table: what each check measured on both sides, the test, the outcome. */
function renderComparison(result) {
  const box = element('div', undefined, 'comparison');
  box.dataset.model = result.model;
  const title = element('h3');
  title.append(element('span', `${result.model}: ${result.candidate.version} vs ${result.baseline.version} `), element('span', result.verdict, `verdict verdict-${result.verdict.replace(/ /g, '-')}`));
  box.append(title);
  const table = element('table', undefined, 'compare-table');
  const head = element('tr');
  for (const label of ['Check', 'Candidate', 'Baseline', 'Difference', 'Margin', 'Test', 'p', 'Outcome']) head.append(element('th', label));
  table.append(head);
  const lines = [
    ['Error rate', result.checks.errorRate, pct, (d) => pct(d), pct],
    ['Fallback rate', result.checks.fallbackRate, pct, (d) => pct(d), pct],
    ['p95 latency (ms)', result.checks.p95LatencyPct, (v) => num(v, 2), (d) => (d === null ? '-' : `${d >= 0 ? '+' : ''}${d.toFixed(1)} %`), (m) => `${m} %`],
    ['Mean top-1 probability', result.checks.confidence, (v) => num(v), (d) => num(d), (m) => num(m, 2)],
    ['Feedback accuracy', result.checks.accuracy, pct, (d) => pct(d), pct],
  ];
  for (const [label, check, value, difference, margin] of lines) {
    const tr = element('tr');
    tr.append(element('td', label), element('td', value(check.candidate)), element('td', value(check.baseline)), element('td', difference(check.difference)), element('td', margin(check.threshold)), element('td', check.significance.test), element('td', pValue(check)), element('td', check.outcome, `outcome-${check.outcome.replace(/ /g, '-')}`));
    table.append(tr);
  }
  box.append(table);
  const counts = element('p', `${result.candidate.version}: ${result.candidate.inferences} inferences, ${result.candidate.errors} errors, p50 ${num(result.candidate.p50, 2)} ms. ${result.baseline.version}: ${result.baseline.inferences} inferences, ${result.baseline.errors} errors, p50 ${num(result.baseline.p50, 2)} ms.`, 'counts');
  box.append(counts);
  const reasons = element('ul', undefined, 'reasons');
  for (const reason of result.reasons) reasons.append(element('li', reason));
  box.append(reasons);
  return box;
}

async function canaryPairs() {
  const model = byId('compare-model').value.trim();
  const candidate = byId('compare-candidate').value.trim();
  const baseline = byId('compare-baseline').value.trim();
  if (model && candidate && baseline) return [{ model, candidate, baseline }];
  // Otherwise every live canary of the manifest this collector serves (404 when it serves none).
  const response = await fetch('/v1/manifest.json', { cache: 'no-store' });
  if (!response.ok) return [];
  const manifest = await response.json();
  return Object.entries(manifest.models ?? {}).flatMap(([id, entry]) => {
    const canary = entry.channels?.canary;
    return canary && !(entry.revoked ?? []).includes(canary.version) ? [{ model: id, candidate: canary.version, baseline: entry.channels.stable }] : [];
  });
}

async function refreshCanary() {
  const rangeMs = Number(byId('range').value);
  const to = Date.now();
  try {
    const pairs = await canaryPairs();
    const app = byId('app').value.trim();
    const results = await Promise.all(
      pairs.map((pair) => adminJson(`/v1/compare?${new URLSearchParams({ ...pair, from: String(to - rangeMs), to: String(to), ...(app ? { app } : {}) })}`)),
    );
    byId('compare-results').replaceChildren(...results.map(renderComparison));
    byId('compare-status').textContent = pairs.length === 0 ? 'No live canary in the served manifest; type a model and two versions to compare.' : `Compared ${pairs.length} canar${pairs.length === 1 ? 'y' : 'ies'} over the selected range.`;
    const audit = await adminJson('/v1/audit?limit=50');
    rows(
      'audit',
      audit.entries.map((entry) => [new Date(entry.ts).toLocaleString(), entry.actor, entry.action, entry.model ?? '-', entry.version ?? '-', entry.dryRun ? 'yes' : 'no', (entry.detail.reasons ?? []).join('; ') || entry.detail.error || '-']),
    );
  } catch (error) {
    byId('compare-status').textContent = `Could not compare: ${error.message}`;
  }
}

async function refreshLogs() {
  const params = new URLSearchParams({ limit: String(LOG_ROWS), from: String(Date.now() - Math.max(Number(byId('range').value), 86_400_000)) });
  for (const [id, name] of [
    ['log-device', 'device'],
    ['log-model', 'model'],
    ['log-code', 'code'],
    ['log-level', 'level'],
  ]) {
    const value = byId(id).value.trim();
    if (value) params.set(name, value);
  }
  const app = byId('app').value.trim();
  if (app) params.set('app', app);
  try {
    const { logs } = await adminJson(`/v1/logs?${params}`);
    rows(
      'log-table',
      logs.map((entry) => [
        new Date(entry.ts).toLocaleString(),
        { text: entry.level, className: `level-${entry.level}` },
        entry.code,
        entry.device,
        entry.model ? `${entry.model}@${entry.version ?? '-'}` : '-',
        entry.backend ?? '-',
        entry.message,
      ]),
    );
  } catch (error) {
    byId('compare-status').textContent = `Could not load logs: ${error.message}`;
  }
}

function refreshOperations() {
  if (!token()) return;
  void refreshCanary();
  void refreshLogs();
}

window.addEventListener('DOMContentLoaded', () => {
  byId('controls').addEventListener('submit', () => refreshOperations());
  byId('compare-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void refreshCanary();
  });
  byId('log-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void refreshLogs();
  });
  refreshOperations();
  window.setInterval(refreshOperations, OPS_REFRESH_MS);
});
