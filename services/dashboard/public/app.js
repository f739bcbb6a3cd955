// The dashboard page: reads the service's own JSON API (never Elasticsearch) and draws the panels.
// Plain ES module, no build step; uPlot is served by the service from node_modules.
import uPlot from '/vendor/uPlot.esm.js';

const REFRESH_MS = 30_000;
/** How long the page waits for one API answer (the service's own query timeout is 10 s). */
const API_TIMEOUT_MS = 20_000;
const number = new Intl.NumberFormat('en-US');
const $ = (selector, root = document) => root.querySelector(selector);

/** The filter and panel choices, kept in the address bar so a view can be shared or reloaded. */
const state = readState();
const charts = new Map();
let refreshTimer;
/** Refreshes started so far: only the latest one reports its errors and schedules the next. */
let refreshes = 0;
/** Each panel's load in flight, by panel id: a newer load of the panel aborts it. */
const loads = new Map();

/** What each panel shows, by panel id: the request it answered and when (server time). */
const shown = new Map();
/** The server's clock minus the visitor's, from the latest freshness answer (a visitor's clock may be wrong). */
let serverOffsetMs = 0;
/** The latest freshness answer, shown again (its "… ago" moved on) when a refresh of it fails. */
let lastFreshness;

/** A load that a newer one of the same panel replaced: neither shown nor reported. */
class Superseded extends Error {}

/**
 * Starts a load of one panel, aborting the one in flight, so that an older answer arriving late
 * never overwrites a newer choice. Returns its signal, and whether it is still the panel's latest.
 */
function startLoad(panelId) {
  loads.get(panelId)?.abort();
  const controller = new AbortController();
  loads.set(panelId, controller);
  return { signal: controller.signal, latest: () => loads.get(panelId) === controller };
}

function readState() {
  const q = new URLSearchParams(location.search);
  const pick = (name, allowed, fallback) => (allowed.includes(q.get(name)) ? q.get(name) : fallback);
  const top = (by) => ({
    window: pick(`${by}_window`, ['hour', 'day', 'all'], 'all'),
    at: readableAt(q.get(`${by}_at`) ?? ''),
    sort: pick(`${by}_sort`, ['clicks', 'unique_users', 'avg_time_spent_ms'], 'clicks'),
  });
  return {
    url: q.get('url') ?? '',
    country: q.get('country') ?? '',
    hours: pick('hours', ['24', '48', '168', '336', '744'], '48'),
    days: pick('days', ['14', '30', '90', '365'], '30'),
    top: { url: top('url'), country: top('country') },
  };
}

/**
 * A window time from the address bar as the page can use it: `YYYY-MM-DD` (a day, as the API
 * takes it) or the time input's `YYYY-MM-DDTHH:MM`, naming a real date from 1970 on; anything
 * else (a hand-edited link) is dropped, so that the panel shows its latest window instead of an error.
 */
function readableAt(at) {
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?)?$/.test(at)) return '';
  const ms = Date.parse(atParam(at));
  // A date that rolls over (2024-02-30 read as March 1st) is not the one asked for.
  return Number.isFinite(ms) && ms >= 0 && new Date(ms).toISOString().slice(0, 10) === at.slice(0, 10) ? at : '';
}

function writeState() {
  const q = new URLSearchParams();
  if (state.url) q.set('url', state.url);
  if (state.country) q.set('country', state.country);
  if (state.hours !== '48') q.set('hours', state.hours);
  if (state.days !== '30') q.set('days', state.days);
  for (const by of ['url', 'country']) {
    const t = state.top[by];
    if (t.window !== 'all') q.set(`${by}_window`, t.window);
    if (t.at && t.window !== 'all') q.set(`${by}_at`, t.at);
    if (t.sort !== 'clicks') q.set(`${by}_sort`, t.sort);
  }
  const query = q.toString();
  history.replaceState(null, '', query ? `?${query}` : location.pathname);
}

function filterParams() {
  const q = new URLSearchParams();
  if (state.url) q.set('url', state.url);
  if (state.country) q.set('country', state.country);
  return q;
}

/**
 * Calls the API; resolves with the JSON body or throws an Error carrying the status and message
 * ({@link Superseded} once `signal` is aborted, a timeout after {@link API_TIMEOUT_MS}).
 */
async function api(path, params, signal) {
  let response;
  let body;
  try {
    response = await fetch(`${path}?${params}`, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.any([signal, AbortSignal.timeout(API_TIMEOUT_MS)]),
    });
    body = await response.json().catch(() => ({}));
  } catch (err) {
    if (signal.aborted) throw new Superseded();
    if (err?.name === 'TimeoutError')
      throw Object.assign(new Error(`the dashboard service did not answer within ${API_TIMEOUT_MS / 1000} s`), { status: 0 });
    throw Object.assign(new Error('the dashboard service does not answer'), { status: 0 });
  }
  if (signal.aborted) throw new Superseded();
  if (!response.ok)
    throw Object.assign(new Error(body.message ?? `HTTP ${response.status}`), { status: response.status, code: body.error });
  return body;
}

// --- formatting (UTC throughout) -------------------------------------------------------------

const iso = (ms) => new Date(ms).toISOString();
const hourText = (ms) => `${iso(ms).slice(0, 10)} ${iso(ms).slice(11, 16)}`;
const dayText = (ms) => iso(ms).slice(0, 10);
/** An average time spent: seconds to a tenth, and under a tenth of a second in milliseconds (never "0.0 s" for 40 ms). */
function secondsText(ms) {
  if (ms === null) return '–';
  if (ms >= 100) return `${(ms / 1000).toFixed(1)} s`;
  if (ms > 0 && ms < 1) return '< 1 ms';
  return `${Math.round(ms)} ms`;
}

function agoText(ms, nowMs) {
  const s = Math.max(0, Math.round((nowMs - ms) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 48 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

function windowText(window) {
  if (window.granularity === 'all') return 'all time';
  if (window.startMs === null) return `latest ${window.granularity}`;
  return window.granularity === 'hour'
    ? `hour ${hourText(window.startMs)}–${iso(window.endMs).slice(11, 16)} UTC`
    : `day ${dayText(window.startMs)} (UTC)`;
}

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function row(...cells) {
  const tr = document.createElement('tr');
  tr.append(...cells);
  return tr;
}

// --- panels ----------------------------------------------------------------------------------

/** The panel no longer marked as not refreshed. */
function unmarkStale(panel) {
  panel.classList.remove('stale');
  $('.stale-note', panel)?.remove();
}

/** The panel now shows the answer to `request`: no longer marked as not refreshed. */
function showAnswered(panel, request) {
  shown.set(panel.id, { request, atMs: Date.now() + serverOffsetMs });
  unmarkStale(panel);
}

/**
 * A failed load of a panel. A refresh of what the panel shows keeps it, marked as not refreshed,
 * with the time it was read (a wall screen keeps its numbers through a short outage); another
 * choice must show nothing of the previous one, so `clear` empties the panel. Either way the
 * error goes on to the page's status line.
 */
function failed(panel, request, err, clear) {
  const kept = shown.get(panel.id);
  if (kept?.request !== request) {
    shown.delete(panel.id);
    unmarkStale(panel);
    clear();
    return;
  }
  panel.classList.add('stale');
  let note = $('.stale-note', panel);
  if (note === null) {
    note = document.createElement('p');
    note.className = 'stale-note';
    $('.summary', panel).after(note);
  }
  note.textContent = `Not refreshed: ${err.message.replace(/\.$/, '')}. Showing the numbers read at ${iso(kept.atMs).slice(11, 19)} UTC.`;
}

function drawChart(id, points, granularity) {
  const target = $(`#${id}`);
  charts.get(id)?.destroy();
  charts.delete(id);
  target.replaceChildren();
  if (points.length === 0) return;
  const data = [points.map((p) => p.windowStartMs / 1000), points.map((p) => p.clicks)];
  const bars = granularity === 'day';
  const size = granularity === 'hour' ? 3600 : 86400;
  // 24-hour UTC labels; the date under the first label of each day (hours) or month (days).
  const xLabels = (u, splits) =>
    splits.map((s, i) => {
      const text = iso(s * 1000);
      const previous = i === 0 ? '' : iso(splits[i - 1] * 1000);
      if (granularity === 'day') return text.slice(5, 7) === previous.slice(5, 7) ? text.slice(8, 10) : text.slice(5, 10);
      return text.slice(0, 10) === previous.slice(0, 10) ? text.slice(11, 16) : `${text.slice(11, 16)}\n${text.slice(5, 10)}`;
    });
  const chart = new uPlot(
    {
      width: Math.max(target.clientWidth, 280),
      height: 220,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      legend: { show: true },
      cursor: { points: { show: !bars } },
      scales: {
        // Half a window of room on each side, so the first and last bars are whole.
        x: { time: true, range: (u, min, max) => [min - size / 2, max + size / 2] },
        y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] },
      },
      series: [
        {
          label: granularity === 'hour' ? 'Hour (UTC)' : 'Day (UTC)',
          // The hovered window, written as the axes and tables write it (uPlot's default is a 12-hour clock).
          value: (u, seconds) =>
            seconds === null ? '–' : granularity === 'hour' ? `${hourText(seconds * 1000)} UTC` : dayText(seconds * 1000),
        },
        {
          label: 'Clicks',
          stroke: '#2563eb',
          fill: 'rgba(37, 99, 235, 0.15)',
          width: 2,
          points: { show: false },
          ...(bars ? { paths: uPlot.paths.bars({ size: [0.7, 60] }) } : {}),
        },
      ],
      axes: [
        { values: xLabels, space: 50 },
        { size: 60, values: (u, values) => values.map((v) => number.format(v)) },
      ],
    },
    data,
    target,
  );
  charts.set(id, chart);
}

async function loadClicks(panelId, granularity, windows) {
  const panel = $(`#${panelId}`);
  const load = startLoad(panelId);
  panel.setAttribute('aria-busy', 'true');
  const params = filterParams();
  params.set('granularity', granularity);
  // The last N windows by the server's clock: a visitor's clock may be wrong.
  params.set('windows', windows);
  const request = `/api/clicks?${params}`;
  try {
    const body = await api('/api/clicks', params, load.signal);
    const tbody = $(`#${panelId}-table tbody`);
    tbody.replaceChildren(
      ...body.points
        .toReversed()
        .map((p) =>
          row(
            cell(granularity === 'hour' ? hourText(p.windowStartMs) : dayText(p.windowStartMs)),
            cell(number.format(p.clicks), 'num'),
            cell(p.openGroups > 0 ? 'open' : p.clicks > 0 ? 'final' : ''),
          ),
        ),
    );
    const open = body.points.filter((p) => p.openGroups > 0).length;
    $(`#${panelId}-summary`).textContent =
      body.totalClicks === 0
        ? `No clicks in this range${state.url || state.country ? ' for this filter' : ''}.`
        : `${clicksText(body.totalClicks)} ` +
          (granularity === 'hour'
            ? `from ${hourText(body.fromMs)} to ${hourText(body.toMs)} UTC`
            : `from ${dayText(body.fromMs)} to ${dayText(body.toMs - 1)} (UTC days, both included)`) +
          (open > 0 ? `; ${open} ${granularity}${open > 1 ? 's' : ''} still open (may change).` : '.');
    drawChart(`${panelId}-chart`, body.totalClicks === 0 ? [] : body.points, granularity);
    showAnswered(panel, request);
    return true;
  } catch (err) {
    if (err instanceof Superseded) throw err;
    failed(panel, request, err, () => {
      $(`#${panelId}-summary`).textContent = `Cannot show this panel: ${err.message}`;
      $(`#${panelId}-table tbody`).replaceChildren();
      drawChart(`${panelId}-chart`, [], granularity);
    });
    throw err;
  } finally {
    // A superseded load leaves the busy state to the newer one; the count is read by the browser tests.
    if (load.latest()) panel.setAttribute('aria-busy', 'false');
    panel.dataset.loaded = String(Number(panel.dataset.loaded ?? '0') + 1);
  }
}

/** "1 click", "2 clicks". */
function clicksText(n) {
  return `${number.format(n)} click${n === 1 ? '' : 's'}`;
}

/** The API's `at` for a panel's choice: a day (YYYY-MM-DD, as a bookmark may hold it) as it is, a date-time as its UTC hour. */
function atParam(at) {
  return /^\d{4}-\d{2}-\d{2}$/.test(at) ? at : `${at.slice(0, 13)}:00:00Z`;
}

function usersNote(by) {
  if (by === 'url') {
    return state.country
      ? 'Users: distinct users of the page in this country (exact).'
      : 'Users: distinct users per (page, country), summed over countries: a user seen from two countries counts twice. Filter a country for exact numbers.';
  }
  return state.url
    ? 'Users: distinct users of this page in the country (exact).'
    : 'Users: distinct users per (page, country), summed over pages: a user who viewed three pages counts three times. Filter a page for exact numbers.';
}

async function loadTop(by) {
  const panel = $(`#top-${by}`);
  const choice = state.top[by];
  const load = startLoad(`top-${by}`);
  panel.setAttribute('aria-busy', 'true');
  const params = filterParams();
  params.set('by', by);
  params.set('window', choice.window);
  params.set('sort', choice.sort);
  params.set('limit', '10');
  if (choice.window !== 'all' && choice.at) params.set('at', atParam(choice.at));
  for (const th of panel.querySelectorAll('th[data-sort]'))
    th.setAttribute('aria-sort', th.dataset.sort === choice.sort ? 'descending' : 'none');
  const request = `/api/top?${params}`;
  try {
    const body = await api('/api/top', params, load.signal);
    const tbody = $('tbody', panel);
    tbody.replaceChildren(
      ...body.rows.map((r) => {
        const users = cell(number.format(r.uniqueUsersSum) + (r.uniqueUsersExact ? '' : ' ≈'), 'num');
        const key = cell(r.key, 'key');
        key.title = r.key;
        const tr = row(key, cell(number.format(r.clicks), 'num'), users, cell(secondsText(r.avgTimeSpentMs), 'num'));
        // All-time rows are never final, so only hour and day rows are marked.
        if (r.openGroups > 0 && body.window.granularity !== 'all') tr.classList.add('open');
        return tr;
      }),
    );
    const what = by === 'url' ? 'pages' : 'countries';
    const open =
      body.window.granularity === 'all'
        ? ' All-time numbers grow with every aggregator run.'
        : body.rows.some((r) => r.openGroups > 0)
          ? ' Rows in italics are still open (may change).'
          : '';
    $('.summary', panel).textContent =
      body.rows.length === 0
        ? `No data yet for ${windowText(body.window)}${state.url || state.country ? ' and this filter' : ''}.`
        : `${windowText(body.window)}: top ${body.rows.length} of ${body.keysExact ? '' : 'about '}${number.format(body.keys)} ${what}, ${clicksText(body.totalClicks)} in all.${open}`;
    $('.note', panel).textContent =
      `${usersNote(by)} Avg time: time spent summed over the row's clicks with a known time spent, divided by their number.`;
    showAnswered(panel, request);
    return true;
  } catch (err) {
    if (err instanceof Superseded) throw err;
    failed(panel, request, err, () => {
      $('tbody', panel).replaceChildren();
      $('.summary', panel).textContent = `Cannot show this panel: ${err.message}`;
    });
    throw err;
  } finally {
    // A superseded load leaves the busy state to the newer one; the count is read by the browser tests.
    if (load.latest()) panel.setAttribute('aria-busy', 'false');
    panel.dataset.loaded = String(Number(panel.dataset.loaded ?? '0') + 1);
  }
}

async function loadFreshness() {
  const panel = $('#open-windows');
  const load = startLoad('open-windows');
  panel.setAttribute('aria-busy', 'true');
  const params = filterParams();
  const request = `/api/freshness?${params}`;
  try {
    const body = await api('/api/freshness', params, load.signal);
    serverOffsetMs = body.nowMs - Date.now();
    lastFreshness = body;
    showFreshness(body, body.nowMs);
    $('ul', panel).replaceChildren(
      ...body.openWindows.map((w) => {
        const li = document.createElement('li');
        li.textContent = `${w.granularity === 'hour' ? `hour ${hourText(w.windowStartMs)}` : `day ${dayText(w.windowStartMs)}`} (${number.format(w.groups)} page/country group${
          w.groups === 1 ? '' : 's'
        })`;
        return li;
      }),
    );
    $('.summary', panel).textContent =
      body.openWindowsTotal === 0
        ? 'Every hour and day window is final: later runs will not change them unless late clicks arrive.'
        : `${body.openWindowsTotal} hour/day window${body.openWindowsTotal === 1 ? ' is' : 's are'} not final yet (open, or within the allowed lateness): their numbers may still change. All-time numbers always may.` +
          (body.openWindowsTotal > body.openWindows.length ? ` The newest ${body.openWindows.length}:` : '');
    showAnswered(panel, request);
    return body;
  } catch (err) {
    if (err instanceof Superseded) throw err;
    failed(panel, request, err, () => {
      lastFreshness = undefined;
      $('#freshness').textContent = 'Freshness unknown.';
      $('.summary', panel).textContent = `Cannot show this panel: ${err.message}`;
      $('ul', panel).replaceChildren();
    });
    // Numbers kept: how long ago they were written moves on all the same.
    if (lastFreshness !== undefined) showFreshness(lastFreshness, Date.now() + serverOffsetMs);
    throw err;
  } finally {
    // A superseded load leaves the busy state to the newer one; the count is read by the browser tests.
    if (load.latest()) panel.setAttribute('aria-busy', 'false');
    panel.dataset.loaded = String(Number(panel.dataset.loaded ?? '0') + 1);
  }
}

/** The header's line: when the aggregator last wrote, and how long before `nowMs` (server time). */
function showFreshness(body, nowMs) {
  $('#freshness').textContent =
    body.lastUpdatedMs === null
      ? 'No metrics yet: the aggregator has not written any (for this filter).'
      : `Numbers last updated by the aggregator at ${iso(body.lastUpdatedMs).slice(0, 19).replace('T', ' ')} UTC (${agoText(
          body.lastUpdatedMs,
          nowMs,
        )}); ${number.format(body.documents)} metric documents.`;
}

function showStatus(errors, freshness) {
  const status = $('#status');
  // A busy dashboard (503 busy) is not Elasticsearch failing: it says so as any other panel error.
  const unavailable = errors.find((e) => e.status === 503 && e.code !== 'busy');
  const other = errors[0];
  status.className = '';
  if (unavailable) {
    status.textContent =
      `Elasticsearch is not answering, so the numbers cannot be read right now (HTTP 503). The page retries every ${REFRESH_MS / 1000} s.` +
      (document.querySelector('.card.stale') ? ' Panels keep the numbers read before, dimmed.' : '');
    status.className = 'error';
  } else if (other) {
    status.textContent = `Some panels could not be loaded: ${other.message}`;
    status.className = 'error';
  } else if (freshness && freshness.documents === 0) {
    status.textContent =
      state.url || state.country
        ? 'No data for this filter: check the page (url_key, exactly as stored) and the country code.'
        : 'No data yet: produce some clicks (npm run produce) and let the aggregator run.';
    status.className = 'info';
  }
  status.hidden = status.className === '';
  document.body.dataset.state = unavailable ? 'unavailable' : other ? 'error' : 'ok';
}

async function refresh() {
  const generation = (refreshes += 1);
  clearTimeout(refreshTimer);
  document.body.dataset.state = 'loading';
  const results = await Promise.allSettled([
    loadFreshness(),
    loadClicks('hourly', 'hour', state.hours),
    loadClicks('daily', 'day', state.days),
    loadTop('url'),
    loadTop('country'),
  ]);
  // A newer refresh (a choice made meanwhile) reports and schedules the next one: one timer only.
  if (generation !== refreshes) return;
  const errors = results.filter((r) => r.status === 'rejected' && !(r.reason instanceof Superseded)).map((r) => r.reason);
  showStatus(errors, results[0].status === 'fulfilled' ? results[0].value : undefined);
  refreshTimer = setTimeout(() => void refresh(), REFRESH_MS);
}

// --- controls --------------------------------------------------------------------------------

function bindControls() {
  // The address bar as the page reads it: a hand-edited link loses what the page could not use.
  writeState();
  $('#filter-url').value = state.url;
  $('#filter-country').value = state.country;
  $('#filter').addEventListener('submit', (event) => {
    event.preventDefault();
    state.url = $('#filter-url').value.trim();
    state.country = $('#filter-country').value.trim();
    writeState();
    void refresh();
  });
  $('#filter-clear').addEventListener('click', () => {
    state.url = state.country = '';
    $('#filter-url').value = $('#filter-country').value = '';
    writeState();
    void refresh();
  });
  for (const [id, key] of [
    ['#hourly-range', 'hours'],
    ['#daily-range', 'days'],
  ]) {
    $(id).value = state[key];
    $(id).addEventListener('change', () => {
      state[key] = $(id).value;
      writeState();
      void refresh();
    });
  }
  for (const by of ['url', 'country']) {
    const panel = $(`#top-${by}`);
    const choice = state.top[by];
    const windowSelect = $('.window', panel);
    const at = $('.at', panel);
    windowSelect.value = choice.window;
    at.value = choice.at;
    at.hidden = choice.window === 'all';
    windowSelect.addEventListener('change', () => {
      choice.window = windowSelect.value;
      at.hidden = choice.window === 'all';
      writeState();
      void loadTop(by).catch(() => undefined);
    });
    at.addEventListener('change', () => {
      choice.at = at.value;
      writeState();
      void loadTop(by).catch(() => undefined);
    });
    for (const th of panel.querySelectorAll('th[data-sort]')) {
      $('button', th).addEventListener('click', () => {
        choice.sort = th.dataset.sort;
        writeState();
        void loadTop(by).catch(() => undefined);
      });
    }
  }
  let resizeTimer;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const [id, chart] of charts) chart.setSize({ width: Math.max($(`#${id}`).clientWidth, 280), height: 220 });
    }, 150);
  });
}

bindControls();
void refresh();
