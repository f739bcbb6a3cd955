/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The page in a real browser: headless Chromium (CHROMIUM_PATH, default /usr/bin/chromium) drives
 * the dashboard against a real Elasticsearch holding the known fixture documents, and reads the
 * numbers each panel shows. Screenshots go to test-output/ (kept by CI, ignored by git).
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { launch } from 'puppeteer-core';
import type { Browser, HTTPRequest, Page } from 'puppeteer-core';
import { createElasticsearchClient } from '@clickstream/elasticsearch';
import type { ElasticsearchClient } from '@clickstream/elasticsearch';
import { seedDashboardFixture } from '../../../test/support/dashboard-fixture.ts';
import type { DashboardFixture } from '../../../test/support/dashboard-fixture.ts';
import { stackEnv, testLogger, uniqueSuffix } from '../../../test/support/stack-clients.ts';
import { startDashboard } from './main.ts';
import type { DashboardService } from './main.ts';

const OUTPUT_DIR = join(import.meta.dirname, '..', '..', '..', 'test-output');
const prefix = `it-dashboard-page-${uniqueSuffix()}`;
let client: ElasticsearchClient;
let service: DashboardService;
let fixture: DashboardFixture;
let browser: Browser;

const iso = (ms: number): string => new Date(ms).toISOString();
const hourText = (ms: number): string => `${iso(ms).slice(0, 10)} ${iso(ms).slice(11, 16)}`;

/** A blank tab of a laptop's size, for the tests that intercept or change the page before it loads. */
async function laptopPage(): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  return page;
}

/**
 * Opens the page and waits until every panel has loaded (or failed). `clockAheadMs`: the browser's
 * clock runs that far ahead of the real time (a visitor's machine set wrong).
 */
async function open(url: string, viewport = { width: 1280, height: 900 }, clockAheadMs = 0): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport(viewport);
  if (clockAheadMs !== 0) {
    await page.evaluateOnNewDocument((aheadMs: number) => {
      const realNow = Date.now.bind(Date);
      Date.now = () => realNow() + aheadMs;
    }, clockAheadMs);
  }
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(String(err)));
  page.on('console', (message) => {
    // Failed API calls are logged by the browser itself; the tests expecting them check the page.
    if (message.type() === 'error' && !message.text().includes('503')) problems.push(message.text());
  });
  await page.goto(url);
  await page.waitForFunction(() => ['ok', 'unavailable', 'error'].includes(document.body.dataset.state ?? ''), { timeout: 30_000 });
  assert.deepEqual(problems, [], 'no script errors or CSP violations');
  return page;
}

async function tableRows(page: Page, selector: string): Promise<string[][]> {
  return page.$$eval(`${selector} tbody tr`, (rows) => rows.map((row) => [...row.cells].map((cell) => cell.textContent.trim())));
}

const text = (page: Page, selector: string): Promise<string> => page.$eval(selector, (element) => element.textContent.trim());

before(async () => {
  client = createElasticsearchClient({ url: stackEnv.ELASTICSEARCH_URL }, testLogger);
  fixture = await seedDashboardFixture(client, prefix, Date.now());
  service = await startDashboard(
    { ELASTICSEARCH_URL: stackEnv.ELASTICSEARCH_URL, ELASTICSEARCH_INDEX: prefix, HTTP_PORT: '0' },
    testLogger,
  );
  browser = await launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    // Chromium's sandbox refuses to run as root (CI runs as root).
    args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--disable-dev-shm-usage', '--disable-gpu'],
  });
  mkdirSync(OUTPUT_DIR, { recursive: true });
});

after(async () => {
  await browser?.close();
  await service?.stop();
  await client.driver.indices.delete({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true });
  await client.driver.indices.deleteIndexTemplate({ name: `${prefix}-*` }).catch(() => undefined);
  await client.close();
});

/**
 * The open windows' lines as listed, latest start first: the open hour first, except from 00:00 to
 * 02:00 UTC, when it is yesterday's last hour or starts with the day (then the day comes first).
 */
const openWindowsLatestFirst = (hourLine: string, dayLine: string): string[] =>
  fixture.hour2 > fixture.today ? [hourLine, dayLine] : [dayLine, hourLine];

describe('the dashboard page with known documents', () => {
  test('when opened, then every panel shows the numbers of the documents', async () => {
    const page = await open(`http://127.0.0.1:${service.httpPort}/`);
    assert.equal(await page.$eval('#status', (element) => (element as HTMLElement).hidden), true, 'no error or empty banner');

    // Freshness: the latest updated_at, to the second, and the open windows.
    assert.match(await text(page, '#freshness'), new RegExp(`at ${iso(fixture.lastUpdatedMs).slice(0, 19).replace('T', ' ')} UTC`));
    assert.match(await text(page, '#freshness'), /16 metric documents/);
    assert.deepEqual(
      await page.$$eval('#open-windows li', (items) => items.map((item) => item.textContent)),
      openWindowsLatestFirst(
        `hour ${hourText(fixture.hour2)} (2 page/country groups)`,
        `day ${iso(fixture.today).slice(0, 10)} (4 page/country groups)`,
      ),
    );
    assert.match(await text(page, '#open-windows .summary'), /^2 hour\/day windows are not final yet/);

    // Clicks per hour: the chart is drawn, and its numbers are the sums per hour.
    assert.match(await text(page, '#hourly-summary'), /^28 clicks from .*; 1 hour still open/);
    const hourly = await tableRows(page, '#hourly-table');
    assert.equal(hourly.length, 48);
    assert.deepEqual(
      hourly.filter((row) => row[1] !== '0'),
      [
        [hourText(fixture.hour2), '10', 'open'],
        [hourText(fixture.hour1), '18', 'final'],
      ],
    );
    const drawn = await page.$eval('#hourly-chart canvas', (canvas) => {
      const pixels = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data ?? new Uint8ClampedArray();
      let inked = 0;
      for (let i = 3; i < pixels.length; i += 4) if ((pixels[i] ?? 0) > 0) inked += 1;
      return { width: canvas.width, inked };
    });
    assert.ok(drawn.width > 500 && drawn.inked > 500, `the hourly chart is drawn: ${JSON.stringify(drawn)}`);

    // Clicks per day.
    assert.match(await text(page, '#daily-summary'), /^52 clicks from /);
    assert.deepEqual(
      (await tableRows(page, '#daily-table')).filter((row) => row[1] !== '0'),
      [
        [iso(fixture.today).slice(0, 10), '28', 'open'],
        [iso(fixture.yesterday).slice(0, 10), '24', 'final'],
      ],
    );
    assert.equal(await page.$$eval('#daily-chart canvas', (canvases) => canvases.length), 1);

    // The chart's hover legend names the window in 24-hour UTC, as the axes and tables do.
    const box = await page.$eval('#hourly-chart .u-over', (element) => {
      const rect = element.getBoundingClientRect();
      return { x: rect.x + rect.width - 5, y: rect.y + rect.height / 2 };
    });
    await page.mouse.move(box.x, box.y);
    const legend = await page.$eval('#hourly-chart .u-legend .u-series:first-child .u-value', (element) => element.textContent.trim());
    assert.match(legend, /^\d{4}-\d{2}-\d{2} \d{2}:00 UTC$/, `legend ${legend}`);

    // What a screen reader is told: each chart and range by its own name, and no announcement every refresh.
    const names = await page.$$eval('#hourly-range, #daily-range, #hourly-chart, #daily-chart', (elements) =>
      elements.map((element) => element.getAttribute('aria-label')),
    );
    assert.equal(new Set(names).size, 4, `distinct names: ${JSON.stringify(names)}`);
    assert.equal(await page.$eval('#freshness', (element) => element.getAttribute('aria-live')), null);

    // Top pages and countries, all time, by clicks: sums over countries / pages, avg = sum / samples.
    assert.deepEqual(await tableRows(page, '#top-url'), [
      ['/home', '37', '24', '8.8 s'],
      ['/docs', '8', '1', '8.0 s'],
      ['/about', '4', '2', '3.0 s'],
      ['/pricing', '3', '3', '–'],
    ]);
    assert.match(await text(page, '#top-url .summary'), /^all time: top 4 of 4 pages, 52 clicks in all/);
    assert.match(await text(page, '#top-url .note'), /summed over countries/);
    assert.deepEqual(await tableRows(page, '#top-country'), [
      ['FR', '35', '23', '9.7 s'],
      ['US', '8', '1', '8.0 s'],
      ['DE', '5', '4', '5.0 s'],
      ['GB', '4', '2', '3.0 s'],
    ]);
    assert.match(await text(page, '#top-country .note'), /summed over pages/);
    await page.screenshot({ path: join(OUTPUT_DIR, 'dashboard.png'), fullPage: true });
    await page.close();
  });

  test("when the visitor's clock is a year ahead, then the charts still end with the server's current hour and day", async () => {
    const page = await open(`http://127.0.0.1:${service.httpPort}/`, undefined, 365 * 24 * 3_600_000);
    assert.equal(await page.evaluate(() => new Date(Date.now()).getUTCFullYear()), new Date().getUTCFullYear() + 1, 'the clock is shifted');
    assert.match(await text(page, '#hourly-summary'), /^28 clicks from .*; 1 hour still open/);
    assert.deepEqual(
      (await tableRows(page, '#hourly-table')).filter((row) => row[1] !== '0'),
      [
        [hourText(fixture.hour2), '10', 'open'],
        [hourText(fixture.hour1), '18', 'final'],
      ],
    );
    assert.match(await text(page, '#daily-summary'), /^52 clicks from /);
    await page.close();
  });

  test('when a column header is clicked, then the list is ordered by it', async () => {
    const page = await open(`http://127.0.0.1:${service.httpPort}/`);
    await page.click('#top-url th[data-sort="avg_time_spent_ms"] button');
    await page.waitForFunction(
      () => document.querySelector('#top-url th[data-sort="avg_time_spent_ms"]')?.getAttribute('aria-sort') === 'descending',
    );
    await page.waitForFunction(() => document.querySelector('#top-url')?.getAttribute('aria-busy') === 'false');
    assert.deepEqual(
      (await tableRows(page, '#top-url')).map((row) => row[0]),
      ['/home', '/docs', '/about', '/pricing'],
    );
    await page.click('#top-country th[data-sort="unique_users"] button');
    await page.waitForFunction(
      () => document.querySelector('#top-country th[data-sort="unique_users"]')?.getAttribute('aria-sort') === 'descending',
    );
    await page.waitForFunction(() => document.querySelector('#top-country')?.getAttribute('aria-busy') === 'false');
    assert.deepEqual(
      (await tableRows(page, '#top-country')).map((row) => [row[0], row[2]]),
      [
        ['FR', '23'],
        ['DE', '4'],
        ['GB', '2'],
        ['US', '1'],
      ],
    );
    assert.match(page.url(), /url_sort=avg_time_spent_ms/);
    await page.close();
  });

  test('when the hour window is chosen, then the latest hour with data is listed with its open rows', async () => {
    const page = await open(`http://127.0.0.1:${service.httpPort}/?url_window=hour`);
    assert.deepEqual(await tableRows(page, '#top-url'), [
      ['/docs', '8', '1', '8.0 s'],
      ['/home', '2', '2', '5.0 s'],
    ]);
    assert.match(await text(page, '#top-url .summary'), new RegExp(`^hour ${hourText(fixture.hour2)}–`));
    assert.equal(await page.$$eval('#top-url tbody tr.open', (rows) => rows.length), 2);
    await page.close();
  });

  test('when a bookmark names a day in the API form (url_at=YYYY-MM-DD), then that day is listed', async () => {
    const day = iso(fixture.yesterday).slice(0, 10);
    const page = await open(`http://127.0.0.1:${service.httpPort}/?url_window=day&url_at=${day}`);
    assert.match(await text(page, '#top-url .summary'), new RegExp(`^day ${day}`));
    assert.ok((await tableRows(page, '#top-url')).length > 0);
    await page.close();
  });

  test('when a page and a country are filtered, then every panel shows only them, with exact users', async () => {
    const page = await open(`http://127.0.0.1:${service.httpPort}/`);
    await page.type('#filter-url', '/home');
    await page.type('#filter-country', 'FR');
    await page.click('#filter button[type="submit"]');
    await page.waitForFunction(() => new URL(location.href).searchParams.get('country') === 'FR');
    await page.waitForFunction(() => document.body.dataset.state === 'ok' && document.querySelectorAll('[aria-busy="true"]').length === 0);
    assert.match(await text(page, '#hourly-summary'), /^12 clicks from /);
    assert.match(await text(page, '#daily-summary'), /^32 clicks from /);
    assert.deepEqual(await tableRows(page, '#top-url'), [['/home', '32', '20', '9.7 s']]);
    assert.deepEqual(await tableRows(page, '#top-country'), [['FR', '32', '20', '9.7 s']]);
    assert.match(await text(page, '#top-url .note'), /in this country \(exact\)/);
    assert.match(await text(page, '#freshness'), /5 metric documents/);
    assert.deepEqual(
      await page.$$eval('#open-windows li', (items) => items.map((item) => item.textContent)),
      openWindowsLatestFirst(
        `hour ${hourText(fixture.hour2)} (1 page/country group)`,
        `day ${iso(fixture.today).slice(0, 10)} (1 page/country group)`,
      ),
    );
    await page.close();
  });

  test('when the filter matches nothing, then the page says there is no data for it', async () => {
    const page = await open(`http://127.0.0.1:${service.httpPort}/?country=XX`);
    assert.match(await text(page, '#status'), /No data for this filter/);
    assert.match(await text(page, '#hourly-summary'), /No clicks in this range for this filter/);
    assert.deepEqual(await tableRows(page, '#top-url'), []);
    await page.close();
  });

  test('when an earlier answer arrives after a newer choice, then the panel keeps the newer choice', async () => {
    const page = await laptopPage();
    await page.setRequestInterception(true);
    // The first hourly answer (last 48 h) is held back until the visitor has chosen 24 h.
    let held: HTTPRequest | undefined;
    const heldCancelled = new Promise<void>((resolve) => page.on('requestfailed', (request) => request === held && resolve()));
    page.on('request', (request) => {
      if (held === undefined && request.url().includes('/api/clicks') && request.url().includes('granularity=hour')) held = request;
      else void request.continue();
    });
    await page.goto(`http://127.0.0.1:${service.httpPort}/`);
    await page.waitForFunction(() => document.querySelector('#daily')?.getAttribute('aria-busy') === 'false');
    await page.select('#hourly-range', '24');
    await page.waitForFunction(() => document.querySelectorAll('#hourly-table tbody tr').length === 24);
    const loaded = await page.$eval('#hourly', (panel) => Number((panel as HTMLElement).dataset.loaded));
    // Released now: the page either cancelled it when the choice changed, or handles its answer late.
    await held?.continue().catch(() => undefined);
    await Promise.race([
      heldCancelled,
      page.waitForFunction(
        (before: number) => Number((document.querySelector('#hourly') as HTMLElement).dataset.loaded) > before,
        {},
        loaded,
      ),
    ]);
    assert.equal((await tableRows(page, '#hourly-table')).length, 24, 'the 24 hours chosen, not the 48 answered late');
    assert.match(await text(page, '#hourly-summary'), /^28 clicks from /);
    assert.match(page.url(), /hours=24/);
    await page.close();
  });

  test('when an answer never comes, then its panel says so after the time limit instead of waiting for ever', async () => {
    const page = await laptopPage();
    // The page's time limit, shortened for the test.
    await page.evaluateOnNewDocument(() => {
      const timeout = AbortSignal.timeout.bind(AbortSignal);
      AbortSignal.timeout = () => timeout(2_000);
    });
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      // The top countries' answer never comes (a hung proxy); the rest are answered.
      if (!(request.url().includes('/api/top') && request.url().includes('by=country'))) void request.continue();
    });
    await page.goto(`http://127.0.0.1:${service.httpPort}/`);
    await page.waitForFunction(() => ['ok', 'unavailable', 'error'].includes(document.body.dataset.state ?? ''), { timeout: 30_000 });
    assert.equal(await page.evaluate(() => document.body.dataset.state), 'error');
    assert.match(await text(page, '#top-country .summary'), /^Cannot show this panel: the dashboard service did not answer within/);
    assert.match(await text(page, '#status'), /did not answer within/);
    await page.close();
  });

  test('when read on a phone, with the hour and day pickers shown, then nothing is wider than the screen', async () => {
    // 320 px: the narrowest screen WCAG's reflow asks for; 375 and 390: common phones.
    for (const width of [320, 375, 390]) {
      const page = await open(`http://127.0.0.1:${service.httpPort}/?url_window=hour&country_window=day`, { width, height: 844 });
      const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, screen: window.innerWidth }));
      assert.ok(widths.page <= widths.screen, `page ${widths.page} px wide on a ${widths.screen} px screen`);
      await page.screenshot({ path: join(OUTPUT_DIR, `dashboard-phone-${width}.png`), fullPage: true });
      await page.close();
    }
  });

  test('when a shared link holds a window time the page cannot read, then the latest window is shown and the link drops it', async () => {
    const page = await open(`http://127.0.0.1:${service.httpPort}/?url_window=hour&url_at=yesterday%20noon`);
    assert.match(await text(page, '#top-url .summary'), new RegExp(`^hour ${hourText(fixture.hour2)}–`));
    assert.equal(await page.$eval('#top-url .at', (input) => (input as HTMLInputElement).value), '');
    assert.equal(new URL(page.url()).searchParams.get('url_at'), null);
    await page.close();
  });

  test('when an average time spent is under a tenth of a second, then it is shown in milliseconds, not as 0.0 s', async () => {
    const page = await laptopPage();
    await page.setRequestInterception(true);
    const averages = [40, 0.4, 0, 99.6, 100, null];
    page.on('request', (request) => {
      if (!request.url().includes('/api/top') || !request.url().includes('by=url')) return void request.continue();
      const rows = averages.map((avgTimeSpentMs, index) => ({
        key: `/page-${index}`,
        clicks: 10 - index,
        uniqueUsersSum: 1,
        uniqueUsersExact: true,
        avgTimeSpentMs,
        openGroups: 0,
      }));
      const body = {
        window: { granularity: 'all', startMs: null, endMs: null },
        rows,
        keys: rows.length,
        keysExact: true,
        totalClicks: 45,
      };
      void request.respond({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });
    });
    await page.goto(`http://127.0.0.1:${service.httpPort}/`);
    await page.waitForFunction(() => document.querySelector('#top-url')?.getAttribute('aria-busy') === 'false');
    assert.deepEqual(
      (await tableRows(page, '#top-url')).map((cells) => cells[3]),
      ['40 ms', '< 1 ms', '0 ms', '100 ms', '0.1 s', '–'],
    );
    await page.close();
  });

  test('when a refresh fails, then each panel keeps the numbers it showed, marked as not refreshed, until the next refresh works', async () => {
    const page = await laptopPage();
    // The page's 30 s refresh, shortened for the test.
    await page.evaluateOnNewDocument(() => {
      const schedule = window.setTimeout.bind(window);
      window.setTimeout = ((handler: () => void, delayMs?: number) =>
        schedule(handler, delayMs === 30_000 ? 300 : delayMs)) as typeof window.setTimeout;
    });
    let failing = false;
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      if (!failing || !request.url().includes('/api/')) return void request.continue();
      const body = { error: 'elasticsearch_unavailable', message: 'Elasticsearch is not answering; the numbers cannot be read right now' };
      void request.respond({ status: 503, contentType: 'application/json', body: JSON.stringify(body) });
    });
    await page.goto(`http://127.0.0.1:${service.httpPort}/`);
    await page.waitForFunction(() => document.body.dataset.state === 'ok');
    const before = {
      hourly: await tableRows(page, '#hourly-table'),
      topUrl: await tableRows(page, '#top-url'),
      topCountry: await tableRows(page, '#top-country'),
      freshness: await text(page, '#freshness'),
    };
    failing = true;
    await page.waitForFunction(() => document.body.dataset.state === 'unavailable');
    assert.deepEqual(await tableRows(page, '#hourly-table'), before.hourly);
    assert.deepEqual(await tableRows(page, '#top-url'), before.topUrl);
    assert.deepEqual(await tableRows(page, '#top-country'), before.topCountry);
    assert.ok(before.topUrl.length > 0 && before.hourly.length > 0);
    assert.equal(await page.$$eval('.card.stale', (panels) => panels.length), 5, 'every panel marked as not refreshed');
    for (const panel of ['#hourly', '#daily', '#top-url', '#top-country', '#open-windows'])
      assert.match(
        await text(page, `${panel} .stale-note`),
        /^Not refreshed: Elasticsearch is not answering; the numbers cannot be read right now\. Showing the numbers read at \d{2}:\d{2}:\d{2} UTC\.$/,
        panel,
      );
    assert.match(await text(page, '#top-url .summary'), /^all time: top /, 'the summary of the numbers kept');
    assert.match(await text(page, '#freshness'), /^Numbers last updated by the aggregator at .* metric documents\.$/);
    assert.match(await text(page, '#status'), /Elasticsearch is not answering/);
    await page.screenshot({ path: join(OUTPUT_DIR, 'dashboard-not-refreshed.png') });
    failing = false;
    await page.waitForFunction(() => document.body.dataset.state === 'ok');
    assert.equal(await page.$$eval('.card.stale, .stale-note', (elements) => elements.length), 0);
    assert.deepEqual(await tableRows(page, '#top-url'), before.topUrl);
    await page.close();
  });

  test('when another choice fails to load, then its panel shows nothing of the earlier choice', async () => {
    const page = await open(`http://127.0.0.1:${service.httpPort}/`);
    assert.ok((await tableRows(page, '#top-url')).length > 0);
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      if (!request.url().includes('/api/top')) return void request.continue();
      void request.respond({
        status: 503,
        contentType: 'application/json',
        body: JSON.stringify({ error: 'elasticsearch_unavailable', message: 'down' }),
      });
    });
    const loaded = await page.$eval('#top-url', (panel) => Number((panel as HTMLElement).dataset.loaded));
    await page.select('#top-url .window', 'day');
    await page.waitForFunction(
      (count: number) => Number((document.querySelector('#top-url') as HTMLElement).dataset.loaded) > count,
      {},
      loaded,
    );
    assert.deepEqual(await tableRows(page, '#top-url'), []);
    assert.match(await text(page, '#top-url .summary'), /^Cannot show this panel: down/);
    await page.close();
  });
});

describe('the dashboard page without data or Elasticsearch', () => {
  test('when the alias does not exist yet, then the page says there is no data yet', async () => {
    const empty = await startDashboard(
      { ELASTICSEARCH_URL: stackEnv.ELASTICSEARCH_URL, ELASTICSEARCH_INDEX: `${prefix}-none`, HTTP_PORT: '0' },
      testLogger,
    );
    try {
      const page = await open(`http://127.0.0.1:${empty.httpPort}/`);
      assert.match(await text(page, '#status'), /No data yet/);
      assert.match(await text(page, '#freshness'), /No metrics yet/);
      assert.match(await text(page, '#top-country .summary'), /No data yet for all time/);
      await page.close();
    } finally {
      await empty.stop();
    }
  });

  test('when Elasticsearch does not answer, then the page says so in every panel', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    const down = await startDashboard(
      { ELASTICSEARCH_URL: `http://127.0.0.1:${port}`, HTTP_PORT: '0' },
      testLogger.child({}, { level: 'fatal' }),
    );
    try {
      const page = await open(`http://127.0.0.1:${down.httpPort}/`);
      assert.equal(await page.evaluate(() => document.body.dataset.state), 'unavailable');
      assert.match(await text(page, '#status'), /Elasticsearch is not answering/);
      for (const selector of ['#hourly-summary', '#daily-summary', '#top-url .summary', '#top-country .summary', '#open-windows .summary'])
        assert.match(await text(page, selector), /Cannot show this panel: Elasticsearch is not answering/, selector);
      await page.screenshot({ path: join(OUTPUT_DIR, 'dashboard-unavailable.png') });
      await page.close();
    } finally {
      await down.stop();
    }
  });
});
