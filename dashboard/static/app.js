// The Alluvium dashboard: reads the coordinator's REST API and draws it.
// Jobs are polled every second, everything else every few seconds. No
// framework: a small element builder and one renderer per section.
'use strict';

const TOKEN_KEY = 'alluvium.token';
const JOB_EVERY_MS = 1000;
const CLUSTER_EVERY_MS = 3000;
const FINISHED_JOBS_SHOWN = 15;
const ACTIVE = new Set(['WAITING', 'RUNNING', 'VERIFYING']);

const $ = (id) => document.getElementById(id);

// h builds an element: h('td', {class: 'num'}, 'text', child, ...).
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('data-')) el.dataset[k.slice(5).replace(/-(.)/g, (_, c) => c.toUpperCase())] = v;
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

// ---- the API --------------------------------------------------------------

class APIError extends Error {
  constructor(status, reason) {
    super(status === 401 ? 'this cluster needs an API token (401)' : `${reason} (${status})`);
    this.status = status;
  }
}

let staleSeen = false; // some answer of this round came from a coordinator without a leader

// api GETs a path of /api/v1. Without a leader (503) it asks again with
// ?stale=true, so an operator still sees this coordinator's own view. A
// switched-off feature (501) answers null.
async function api(path) {
  const headers = { Accept: 'application/json' };
  const token = localStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = 'Bearer ' + token;
  let res = await fetch(path, { headers, cache: 'no-store' });
  if (res.status === 503) {
    res = await fetch(path + (path.includes('?') ? '&' : '?') + 'stale=true', { headers, cache: 'no-store' });
    staleSeen = true;
  }
  if (res.status === 501) return null;
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    throw new APIError(res.status, body.status || res.statusText);
  }
  return res.json();
}

// ---- formatting -----------------------------------------------------------

function bytes(n) {
  n = Number(n) || 0;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 || Number.isInteger(n) ? n : n.toFixed(1)) + ' ' + units[i];
}

function percent(f) { return (f * 100).toFixed(f > 0 && f < 0.1 ? 1 : 0) + '%'; }

function ago(rfc3339) {
  if (!rfc3339) return '–';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(rfc3339)) / 1000));
  if (s < 60) return s + 's ago';
  if (s < 3600) return Math.floor(s / 60) + 'm ago';
  if (s < 86400) return Math.floor(s / 3600) + 'h ago';
  return new Date(rfc3339).toLocaleDateString();
}

function clock(rfc3339) {
  return rfc3339 ? new Date(rfc3339).toLocaleTimeString() : '–';
}

// ---- building blocks ------------------------------------------------------

const barWidths = new Map(); // bar key -> the width it was last drawn at

// bar draws a fraction as a horizontal bar. A bar redrawn under the same key
// starts at its previous width and slides to the new one. A null fraction is
// an indeterminate bar: work is going on, its end is not known yet.
function bar(key, fraction, cls) {
  if (fraction === null) {
    barWidths.delete(key);
    return h('div', { class: 'bar indeterminate ' + (cls || ''), role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100 }, h('span'));
  }
  const pct = Math.max(0, Math.min(1, Number(fraction) || 0)) * 100;
  const fill = h('span');
  const prev = barWidths.get(key);
  barWidths.set(key, pct);
  fill.style.width = (prev ?? pct) + '%';
  if (prev !== undefined && prev !== pct) {
    requestAnimationFrame(() => requestAnimationFrame(() => { fill.style.width = pct + '%'; }));
  }
  return h('div', {
    class: 'bar ' + (cls || ''), role: 'progressbar',
    'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(pct),
  }, fill);
}

function meter(key, fraction, label, cls) {
  return h('div', { class: 'meter' }, bar(key, fraction, cls), h('small', null, label));
}

function pill(text, cls) { return h('span', { class: 'pill ' + (cls || text) }, text); }

function emptyRow(cols, text) {
  return h('tr', null, h('td', { colspan: cols, class: 'empty' }, text));
}

function fill(id, rows, cols, emptyText) {
  $(id).replaceChildren(...(rows.length ? rows : [emptyRow(cols, emptyText)]));
}

// ringColor gives each worker a stable hue from its place in sorted order.
function ringColor(i) { return `hsl(${(i * 137.508 + 210) % 360} 65% 52%)`; }

// ---- sections -------------------------------------------------------------

function renderCoordinators(c) {
  $('term').textContent = `Leader ${c.leader || 'none'} · term ${c.term} · answered by ${c.servedBy || '?'}`;
  $('coord-list').replaceChildren(...c.results.map((m) => h('li', { 'data-id': m.id },
    h('span', { class: 'id' }, m.id),
    pill(m.leader ? 'leader' : 'follower'),
    m.voter ? null : pill('non-voter', 'follower'),
    m.httpAddress ? h('a', { href: `http://${m.httpAddress}/`, class: 'mono' }, m.httpAddress) : null,
    m.commitIndex ? h('small', null, `applied ${m.appliedIndex} of ${m.commitIndex}`) : null,
  )));
}

function renderWorkers(nodes) {
  const rows = nodes.map((n) => {
    const cap = n.capacityBytes || 0;
    const used = n.usedBytes || 0;
    const f = cap > 0 ? used / cap : 0;
    return h('tr', { 'data-worker': n.id, 'data-state': n.state },
      h('td', null, h('div', { class: 'mono' }, n.id), h('small', { class: 'sub mono' }, n.address)),
      h('td', null, pill(n.state)),
      h('td', null, meter('w:' + n.id, f, `${bytes(used)} of ${bytes(cap)} (${percent(f)})`, f > 0.95 ? 'full' : '')),
      h('td', { class: 'num' }, (n.pages || 0).toLocaleString()),
      h('td', { title: n.lastHeartbeat || '' }, ago(n.lastHeartbeat)),
    );
  });
  fill('worker-rows', rows, 5, 'No workers have registered.');
}

async function renderRing(nodes) {
  const live = nodes.filter((n) => n.state === 'LIVE').sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (live.length === 0) {
    $('ring-strip').replaceChildren();
    $('ring-list').replaceChildren(h('p', { class: 'empty' }, 'No LIVE workers: the ring is empty.'));
    return;
  }
  // Each member with its capacity and ring weight: the ring weighs workers by them.
  const q = live.map((n) => 'member=' + encodeURIComponent(n.id + ':' + (n.capacityBytes || 0) + ':' + (n.ringWeight || 0))).join('&');
  const res = await fetch('/ui/ring?' + q, { cache: 'no-store' });
  if (!res.ok) throw new Error('ring shares: ' + res.status);
  const ring = await res.json();
  const most = Math.max(...ring.members.map((m) => m.fraction));
  $('ring-strip').replaceChildren(...ring.members.map((m, i) => {
    const s = h('span', { title: `${m.id}: ${percent(m.fraction)}` });
    s.style.width = m.fraction * 100 + '%';
    s.style.background = ringColor(i);
    return s;
  }));
  $('ring-list').replaceChildren(...ring.members.map((m, i) => {
    const sw = h('span', { class: 'swatch' });
    sw.style.background = ringColor(i);
    const b = bar('r:' + m.id, most > 0 ? m.fraction / most : 0);
    b.firstChild.style.background = ringColor(i);
    return h('div', { class: 'share', 'data-worker': m.id, title: `${m.partitions} of ${ring.partitions} partitions` },
      sw, h('div', { class: 'meter' }, h('small', { class: 'mono' }, m.id), b),
      h('span', { class: 'num', title: 'share of the keys, of its share of the capacity' },
        `${percent(m.fraction)} of ${percent(m.capacityShare)}`));
  }));
}

// progress is how far a job is, in files, as `alluvium load --progress`
// counts. A running job's total is not known: the leader lists the files
// page by page and counts each page as it commits it, so its fraction is null.
function progress(j) {
  let done;
  switch (j.type) {
    case 'free': done = (j.freedFiles || 0) + (j.failedFiles || 0); break;
    case 'rebalance': done = (j.loadedFiles || 0) + (j.prunedFiles || 0) + (j.failedFiles || 0); break;
    default: done = Math.max(j.loadedFiles || 0, j.loadedNonEmptyFiles || 0) + (j.skippedFiles || 0) + (j.failedFiles || 0);
  }
  const total = j.scannedFiles || 0;
  if (ACTIVE.has(j.state)) return { fraction: null, done, total };
  if (j.state === 'SUCCEEDED') return { fraction: 1, done, total };
  return { fraction: total > 0 ? done / total : 0, done, total };
}

function jobBytes(j) {
  if (j.type === 'free') return `${bytes(j.freedBytes)} freed`;
  if (j.type === 'rebalance') return `${bytes(j.loadedBytes)} loaded, ${bytes(j.prunedBytes)} pruned`;
  const skipped = j.skippedBytes ? `, ${bytes(j.skippedBytes)} skipped` : '';
  return `${bytes(j.loadedBytes)} loaded${skipped}`;
}

function jobName(j) {
  if (j.alias) return j.alias;
  if (j.index) return j.index;
  if (j.target) return 'target ' + j.target;
  return (j.paths || []).join(', ');
}

function renderJobs(jobs) {
  jobs.sort((a, b) => (ACTIVE.has(b.state) - ACTIVE.has(a.state)) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  const active = jobs.filter((j) => ACTIVE.has(j.state));
  const shown = active.concat(jobs.filter((j) => !ACTIVE.has(j.state)).slice(0, FINISHED_JOBS_SHOWN));
  const rows = shown.map((j) => {
    const p = progress(j);
    const cls = j.state === 'SUCCEEDED' ? 'done' : j.state === 'FAILED' ? 'full' : j.state;
    const files = p.fraction === null ? `${p.done.toLocaleString()} files so far`
      : `${percent(p.fraction)} · ${p.done.toLocaleString()} of ${p.total.toLocaleString()} files`;
    const failed = j.failedFiles ? ` · ${j.failedFiles} failed` : '';
    return h('tr', { 'data-job': j.id, 'data-state': j.state, 'data-done': p.done, title: j.errorMessage || '' },
      h('td', null, h('div', null, h('b', null, j.type), ' ', jobName(j)), h('small', { class: 'sub mono' }, j.id)),
      h('td', null, pill(j.state)),
      h('td', null, meter('j:' + j.id, p.fraction, `${files} · ${jobBytes(j)}${failed}`, cls)),
      h('td', { class: 'num' }, j.throughputBytesPerSecond ? bytes(j.throughputBytesPerSecond) + '/s' : '–'),
      h('td', { title: j.submitTime || '' }, clock(j.submitTime)),
    );
  });
  fill('job-rows', rows, 5, 'No jobs yet. Start one with `alluvium load --path /some/dir --submit`.');
}

function renderMounts(mounts) {
  const rows = mounts.map((m) => h('tr', { title: Object.entries(m.options || {}).map(([k, v]) => `${k}=${v}`).join('\n') },
    h('td', { class: 'mono' }, m.path), h('td', { class: 'mono wrap' }, m.ufs)));
  fill('mount-rows', rows, 2, 'Nothing is mounted.');
}

function renderPolicies(quotas, ttls, priorities, filter) {
  if (quotas === null) {
    $('quota-list').replaceChildren(h('p', { class: 'empty' }, 'Quotas are switched off.'));
  } else if (quotas.results.length === 0) {
    $('quota-list').replaceChildren(h('p', { class: 'empty' }, 'No quotas.'));
  } else {
    $('quota-list').replaceChildren(...quotas.results.map((q) => {
      const f = q.quotaBytes > 0 ? q.usedBytes / q.quotaBytes : 0;
      return h('div', { class: 'meter', 'data-quota': q.path },
        h('small', { class: 'mono' }, q.path),
        meter('q:' + q.path, f, `${bytes(q.usedBytes)} of ${bytes(q.quotaBytes)} (${percent(f)})`, f >= 1 ? 'full' : ''));
    }));
  }
  const byPath = new Map();
  const add = (path, node) => { if (!byPath.has(path)) byPath.set(path, []); byPath.get(path).push(node); };
  for (const t of ttls ? ttls.results : []) add(t.path, pill('TTL ' + t.ttl, 'ttl'));
  for (const p of priorities ? priorities.results : []) add(p.path, pill(p.priority));
  const rows = [...byPath.keys()].sort().map((path) => h('tr', null, h('td', { class: 'mono' }, path), h('td', null, byPath.get(path).flatMap((n) => [n, ' ']))));
  const off = [ttls === null && 'TTL', priorities === null && 'priority'].filter(Boolean);
  fill('policy-rows', rows, 2, off.length ? off.join(' and ') + ' switched off.' : 'No TTLs or priorities: everything is MEDIUM and kept until evicted.');

  if (filter === null) {
    fill('filter-rows', [], 3, 'The cache filter is switched off.');
    return;
  }
  const frows = filter.rules.map((r) => h('tr', null, h('td', null, r.rule), h('td', { class: 'mono wrap' }, r.pattern || ''), h('td', null, r.time || '–')));
  frows.push(h('tr', null, h('td', null, filter.defaultRule), h('td', { class: 'empty' }, 'default'), h('td', null, filter.defaultTime || '–')));
  fill('filter-rows', frows, 3, '');
}

// ---- refresh loops --------------------------------------------------------

function setStatus(text, cls) {
  const s = $('status');
  s.textContent = text;
  s.className = 'status ' + (cls || '');
}

async function refreshCluster() {
  staleSeen = false;
  const [coords, nodes, mounts, quotas, ttls, priorities, filter] = await Promise.all([
    api('/api/v1/coordinators'), api('/api/v1/nodes'), api('/api/v1/mount'),
    api('/api/v1/quota'), api('/api/v1/ttl'), api('/api/v1/priority'), api('/api/v1/cache-filter'),
  ]);
  renderCoordinators(coords);
  const workers = (nodes.results || []).slice().sort((a, b) => a.id.localeCompare(b.id));
  renderWorkers(workers);
  renderMounts(mounts.results || []);
  renderPolicies(quotas, ttls, priorities, filter);
  await renderRing(workers);
  if (staleSeen) setStatus(`no leader: showing ${coords.servedBy}'s own view (stale)`, 'stale');
  else setStatus(`served by ${coords.servedBy} · updated ${new Date().toLocaleTimeString()}`);
}

async function refreshJobs() {
  const lists = await Promise.all(['load', 'free', 'rebalance'].map((t) => api('/api/v1/' + t)));
  renderJobs(lists.flatMap((l) => (l && l.results) || []));
}

// every runs fn now and again ms after each run ends; a failure is shown
// in the status line and retried on the next round.
function every(ms, fn) {
  let timer;
  let busy = false;
  const run = async () => {
    clearTimeout(timer);
    if (busy) return; // the round in flight schedules the next
    busy = true;
    try {
      await fn();
    } catch (e) {
      setStatus(e.message || String(e), 'error');
    } finally {
      busy = false;
      timer = setTimeout(run, ms);
    }
  };
  run();
  return run;
}

document.addEventListener('DOMContentLoaded', () => {
  const input = $('token');
  input.value = localStorage.getItem(TOKEN_KEY) || '';
  const cluster = every(CLUSTER_EVERY_MS, refreshCluster);
  const jobs = every(JOB_EVERY_MS, refreshJobs);
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (input.value) localStorage.setItem(TOKEN_KEY, input.value);
    else localStorage.removeItem(TOKEN_KEY);
    cluster();
    jobs();
  });
});
