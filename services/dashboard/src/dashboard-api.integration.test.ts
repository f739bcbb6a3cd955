import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createElasticsearchClient } from '@clickstream/elasticsearch';
import type { ElasticsearchClient } from '@clickstream/elasticsearch';
import { indexHourPages, seedDashboardFixture } from '../../../test/support/dashboard-fixture.ts';
import type { DashboardFixture } from '../../../test/support/dashboard-fixture.ts';
import { pollUntil, stackEnv, testLogger, uniqueSuffix } from '../../../test/support/stack-clients.ts';
import { startDashboard } from './main.ts';
import type { DashboardService } from './main.ts';

const prefix = `it-dashboard-api-${uniqueSuffix()}`;
let client: ElasticsearchClient;
let service: DashboardService;
let fixture: DashboardFixture;
let base: string;

async function get(path: string): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(`${base}${path}`);
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as Record<string, unknown>, headers: response.headers };
}

/** A port nothing listens on: bound by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

before(async () => {
  client = createElasticsearchClient({ url: stackEnv.ELASTICSEARCH_URL }, testLogger);
  fixture = await seedDashboardFixture(client, prefix, Date.now());
  service = await startDashboard(
    { ELASTICSEARCH_URL: stackEnv.ELASTICSEARCH_URL, ELASTICSEARCH_INDEX: prefix, HTTP_PORT: '0' },
    testLogger,
  );
  base = `http://127.0.0.1:${service.httpPort}`;
});

after(async () => {
  await service.stop();
  await client.driver.indices.delete({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true });
  await client.driver.indices.deleteIndexTemplate({ name: `${prefix}-*` }).catch(() => undefined);
  await client.close();
});

describe('GET /api/clicks', () => {
  test('when hours are asked (the default 48 h), then each hour holds the sum of its documents and empty hours are 0', async () => {
    const { status, body } = await get('/api/clicks');
    assert.equal(status, 200);
    const points = body.points as { windowStartMs: number; clicks: number; openGroups: number }[];
    assert.equal(points.length, 48);
    assert.equal(body.toMs, (body.fromMs as number) + 48 * 3_600_000);
    const nonZero = points.filter((p) => p.clicks > 0);
    assert.deepEqual(nonZero, [
      { windowStartMs: fixture.hour1, clicks: 18, openGroups: 0 },
      { windowStartMs: fixture.hour2, clicks: 10, openGroups: 2 },
    ]);
    assert.equal(body.totalClicks, 28);
  });

  test('when days are asked with a country filter, then only that country counts', async () => {
    const { status, body } = await get('/api/clicks?granularity=day&country=FR');
    assert.equal(status, 200);
    const points = (body.points as { windowStartMs: number; clicks: number }[]).filter((p) => p.clicks > 0);
    assert.deepEqual(
      points.map((p) => [p.windowStartMs, p.clicks]),
      [
        [fixture.yesterday, 20],
        [fixture.today, 15],
      ],
    );
  });

  test('when a page and a country are filtered and an explicit range given, then the range is aligned to whole hours', async () => {
    const from = new Date(fixture.hour1 + 1_000).toISOString();
    const to = new Date(fixture.hour2 + 5_000).toISOString();
    const { body } = await get(`/api/clicks?from=${from}&to=${to}&url=%2Fhome&country=FR`);
    assert.equal(body.fromMs, fixture.hour1);
    assert.equal(body.toMs, fixture.hour2 + 3_600_000);
    assert.deepEqual(
      (body.points as { clicks: number }[]).map((p) => p.clicks),
      [10, 0, 2],
    );
  });
});

describe('GET /api/top', () => {
  test('when all-time pages are asked, then rows sum their countries, ordered by clicks', async () => {
    const { status, body } = await get('/api/top?by=url');
    assert.equal(status, 200);
    assert.deepEqual(body.window, { granularity: 'all', startMs: null, endMs: null });
    assert.deepEqual(
      (body.rows as Record<string, unknown>[]).map((r) => [
        r.key,
        r.clicks,
        r.uniqueUsersSum,
        r.timeSpentSumMs,
        r.timeSpentSamples,
        r.groups,
      ]),
      [
        ['/home', 37, 24, 185_000, 21, 2],
        ['/docs', 8, 1, 16_000, 2, 1],
        ['/about', 4, 2, 9_000, 3, 1],
        ['/pricing', 3, 3, 0, 0, 1],
      ],
    );
    const rows = body.rows as { avgTimeSpentMs: number | null }[];
    assert.equal(rows[0]?.avgTimeSpentMs, 185_000 / 21);
    assert.equal(rows[3]?.avgTimeSpentMs, null);
    assert.equal(body.keys, 4);
    assert.equal(body.totalClicks, 52);
  });

  test('when sorted by average time spent, then pages without samples come last', async () => {
    const { body } = await get('/api/top?by=url&sort=avg_time_spent_ms');
    assert.deepEqual(
      (body.rows as { key: string }[]).map((r) => r.key),
      ['/home', '/docs', '/about', '/pricing'],
    );
  });

  test('when sorted by users with a limit, then the limit applies after ordering', async () => {
    const { body } = await get('/api/top?by=country&sort=unique_users&limit=2');
    assert.deepEqual(
      (body.rows as Record<string, unknown>[]).map((r) => [r.key, r.uniqueUsersSum]),
      [
        ['FR', 23],
        ['DE', 4],
      ],
    );
    assert.equal(body.keys, 4);
  });

  test('when the hour window has no at, then the latest hour with data is used and its open rows say so', async () => {
    const { body } = await get('/api/top?by=url&window=hour');
    assert.deepEqual(body.window, { granularity: 'hour', startMs: fixture.hour2, endMs: fixture.hour2 + 3_600_000 });
    assert.deepEqual(
      (body.rows as Record<string, unknown>[]).map((r) => [r.key, r.clicks, r.openGroups]),
      [
        ['/docs', 8, 1],
        ['/home', 2, 1],
      ],
    );
  });

  test('when a day is chosen with at and a page filtered, then countries of that page and day are listed', async () => {
    const at = new Date(fixture.yesterday + 13 * 3_600_000).toISOString();
    const { body } = await get(`/api/top?by=country&window=day&at=${at}&url=%2Fhome`);
    assert.deepEqual(body.window, { granularity: 'day', startMs: fixture.yesterday, endMs: fixture.yesterday + 86_400_000 });
    assert.deepEqual(
      (body.rows as Record<string, unknown>[]).map((r) => [r.key, r.clicks, r.uniqueUsersSum]),
      [['FR', 20, 15]],
    );
  });

  test('when a window has no data, then the list is empty, not an error', async () => {
    const { status, body } = await get('/api/top?by=url&window=hour&at=2001-01-01T00:00:00Z');
    assert.equal(status, 200);
    assert.deepEqual(body.rows, []);
    const unknown = await get('/api/top?by=url&window=day&country=XX');
    assert.deepEqual(unknown.body.window, { granularity: 'day', startMs: null, endMs: null });
  });
});

describe('GET /api/freshness', () => {
  test('then the latest updated_at and the open hour and day windows are reported', async () => {
    const { status, body } = await get('/api/freshness');
    assert.equal(status, 200);
    assert.equal(body.lastUpdatedMs, fixture.lastUpdatedMs);
    assert.equal(body.documents, 16);
    // Latest start first: the open hour first, except from 00:00 to 02:00 UTC, when it is
    // yesterday's last hour or starts with the day (then the day comes first).
    const hour = { granularity: 'hour', windowStartMs: fixture.hour2, groups: 2 };
    const day = { granularity: 'day', windowStartMs: fixture.today, groups: 4 };
    assert.deepEqual(body.openWindows, fixture.hour2 > fixture.today ? [hour, day] : [day, hour]);
    assert.equal(body.openWindowsTotal, 2);
  });

  test('when filtered by country, then only its documents count', async () => {
    const { body } = await get('/api/freshness?country=GB');
    assert.equal(body.documents, 2);
    assert.deepEqual(body.openWindows, []);
  });
});

describe('bad query parameters', () => {
  const long = 'a'.repeat(24_577);
  const cases: { name: string; path: string; param: string; message: RegExp }[] = [
    { name: 'an unknown parameter', path: '/api/top?by=url&foo=1', param: 'foo', message: /unknown parameter/ },
    { name: 'a repeated parameter', path: '/api/top?by=url&by=country', param: 'by', message: /more than once/ },
    { name: 'a missing required parameter', path: '/api/top', param: 'by', message: /expected one of/ },
    { name: 'a bad window', path: '/api/top?by=url&window=week', param: 'window', message: /expected one of/ },
    { name: 'a bad sort', path: '/api/top?by=url&sort=url', param: 'sort', message: /expected one of/ },
    { name: 'a limit of 0', path: '/api/top?by=url&limit=0', param: 'limit', message: /1 to 100/ },
    { name: 'a limit above 100', path: '/api/top?by=url&limit=101', param: 'limit', message: /1 to 100/ },
    { name: 'a negative limit', path: '/api/top?by=url&limit=-5', param: 'limit', message: /1 to 100/ },
    { name: 'a fractional limit', path: '/api/top?by=url&limit=2.5', param: 'limit', message: /1 to 100/ },
    { name: 'a huge limit', path: `/api/top?by=url&limit=${'9'.repeat(400)}`, param: 'limit', message: /1 to 100/ },
    { name: 'at with all time', path: '/api/top?by=url&at=2024-01-01', param: 'at', message: /single window/ },
    { name: 'a date that is not a date', path: '/api/top?by=url&window=day&at=yesterday', param: 'at', message: /YYYY-MM-DD/ },
    { name: 'an impossible date', path: '/api/top?by=url&window=day&at=2024-02-30', param: 'at', message: /YYYY-MM-DD/ },
    { name: 'a date-time without zone', path: '/api/clicks?from=2024-01-01T10:00:00', param: 'from', message: /offset/ },
    { name: 'a date before 1970', path: '/api/clicks?from=1969-12-31&to=1970-01-02', param: 'from', message: /1970/ },
    { name: 'a reversed range', path: '/api/clicks?from=2024-01-02&to=2024-01-01', param: 'from', message: /before to/ },
    { name: 'a range too long', path: '/api/clicks?from=2020-01-01&to=2024-01-01', param: 'from', message: /at most 2208/ },
    {
      name: 'a day range too long',
      path: '/api/clicks?granularity=day&from=1980-01-01&to=2024-01-01',
      param: 'from',
      message: /at most 3660/,
    },
    { name: 'a bad granularity', path: '/api/clicks?granularity=all', param: 'granularity', message: /expected one of/ },
    { name: 'an empty url', path: '/api/clicks?url=', param: 'url', message: /empty/ },
    { name: 'a huge url', path: `/api/freshness?url=${long}`, param: 'url', message: /at most 24576/ },
    { name: 'a cut percent-encoding', path: '/api/clicks?url=%E0%A4%A', param: 'url', message: /percent-encoding/ },
    { name: 'an encoded lone surrogate', path: '/api/clicks?url=%ED%A0%80', param: 'url', message: /percent-encoding/ },
    { name: 'a bad percent sign in a name', path: '/api/clicks?u%ZZrl=1', param: '(query)', message: /percent-encoding/ },
    { name: 'a control character', path: '/api/freshness?url=%2Fa%00b', param: 'url', message: /control/ },
    { name: 'a newline in a country', path: '/api/top?by=url&country=F%0AR', param: 'country', message: /control/ },
    { name: 'a C1 control character', path: '/api/freshness?country=%C2%85', param: 'country', message: /control/ },
    { name: 'a huge country', path: `/api/freshness?country=${'A'.repeat(65)}`, param: 'country', message: /at most 64/ },
    { name: 'a __proto__ parameter', path: '/api/freshness?__proto__=1', param: '__proto__', message: /unknown parameter/ },
  ];
  for (const { name, path, param, message } of cases) {
    test(`when ${name}, then 400 names the parameter`, async () => {
      const { status, body } = await get(path);
      assert.equal(status, 400, JSON.stringify(body));
      assert.equal(body.error, 'bad_request');
      const issue = (body.issues as { param: string; message: string }[]).find((i) => i.param === param);
      assert.ok(issue, `no issue for ${param}: ${JSON.stringify(body.issues)}`);
      assert.match(issue.message, message);
      assert.ok(JSON.stringify(body).length < 2_000, 'the answer does not echo huge input');
    });
  }
});

describe('the HTTP port', () => {
  test('serves the page, the charting library and the ops endpoints; everything else is 404 and only GET is allowed', async () => {
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.match(await page.text(), /Clickstream dashboard/);
    const chartLibrary = await fetch(`${base}/vendor/uPlot.esm.js`);
    assert.equal(chartLibrary.status, 200);
    assert.match(await chartLibrary.text(), /export \{ uPlot as default \}|export default/);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /dashboard_http_requests_total\{[^}]*route="\/api\/top"[^}]*status="200"/);
    assert.match(metrics, /dashboard_api_duration_seconds_count\{[^}]*route="\/api\/top"[^}]*outcome="bad_request"/);
    for (const path of ['/../package.json', '/public/app.js', '/api', '/api/topx', '/vendor/../../package.json'])
      assert.equal((await fetch(`${base}${path}`)).status, 404, path);
    const post = await fetch(`${base}/api/top?by=url`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });

  test('when HEAD is asked of any GET route, then it answers as GET would, without a body', async () => {
    for (const path of ['/', '/vendor/uPlot.esm.js', '/api/top?by=url', '/api/freshness', '/healthz', '/readyz', '/metrics']) {
      const response = await fetch(`${base}${path}`, { method: 'HEAD' });
      assert.equal(response.status, 200, path);
      assert.ok((response.headers.get('content-type') ?? '') !== '', `${path}: a content type`);
      assert.equal(await response.text(), '', path);
    }
    assert.equal((await fetch(`${base}/api/top?by=nope`, { method: 'HEAD' })).status, 400);
    assert.equal((await fetch(`${base}/nothing-here`, { method: 'HEAD' })).status, 404);
  });

  test('when the url filter is the longest url_key the contract allows, then it is answered like any other', async () => {
    // 2,048 characters, each 4-byte one percent-encoded to 12 in the url_key, and encoded again in the query.
    const longest = `/${'%F0%9F%98%80'.repeat(2_047)}`;
    for (const path of ['/api/clicks', '/api/freshness', '/api/top?by=country']) {
      const { status, body } = await get(`${path}${path.includes('?') ? '&' : '?'}url=${encodeURIComponent(longest)}`);
      assert.equal(status, 200, `${path}: ${JSON.stringify(body).slice(0, 200)}`);
    }
  });

  test('when a window holds more pages than are counted exactly, then their number says it is an estimate', async () => {
    // 3,100 pages in an hour no other test reads; the list's own total of pages is exact below 3,000.
    const hourMs = Date.UTC(2002, 1, 2, 2);
    const pages = Array.from({ length: 3_100 }, (_, i) => `/many/${i}`);
    const remove = await indexHourPages(client, prefix, hourMs, pages);
    try {
      const many = await get(`/api/top?by=url&window=hour&at=${new Date(hourMs).toISOString()}`);
      assert.equal(many.status, 200, JSON.stringify(many.body).slice(0, 300));
      assert.equal(many.body.keysExact, false);
      assert.ok(Math.abs((many.body.keys as number) - 3_100) < 3_100 * 0.05, `an estimate near 3,100: ${String(many.body.keys)}`);
      const few = await get('/api/top?by=url');
      assert.deepEqual([few.body.keys, few.body.keysExact], [4, true]);
    } finally {
      await remove();
    }
  });

  test('when the range ends near 1970, then the default start stops at 1970 instead of running before it', async () => {
    const { status, body } = await get('/api/clicks?granularity=hour&to=1970-01-01T01:00:00Z');
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.fromMs, 0);
    assert.equal(body.toMs, 3_600_000);
  });
});

describe('when Elasticsearch does not answer', () => {
  let down: DashboardService;
  before(async () => {
    down = await startDashboard(
      { ELASTICSEARCH_URL: `http://127.0.0.1:${await closedPort()}`, HTTP_PORT: '0', DASHBOARD_READINESS_INTERVAL_MS: '500' },
      testLogger.child({}, { level: 'fatal' }),
    );
  });
  after(() => down.stop());

  test('then every API call answers 503 with a message, bad parameters still 400, and /readyz 503', async () => {
    const url = `http://127.0.0.1:${down.httpPort}`;
    for (const path of ['/api/clicks', '/api/top?by=url', '/api/top?by=country&window=hour', '/api/freshness']) {
      const response = await fetch(`${url}${path}`);
      assert.equal(response.status, 503, path);
      const body = (await response.json()) as { error: string; message: string };
      assert.equal(body.error, 'elasticsearch_unavailable');
      assert.match(body.message, /Elasticsearch is not answering/);
    }
    assert.equal((await fetch(`${url}/api/top?by=nope`)).status, 400);
    assert.equal((await fetch(`${url}/readyz`)).status, 503);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
  });
});

describe('when the metrics index is closed', () => {
  test('then every API call answers 503 saying so, /readyz turns 503, and both recover once it is open again', async () => {
    const watching = await startDashboard(
      {
        ELASTICSEARCH_URL: stackEnv.ELASTICSEARCH_URL,
        ELASTICSEARCH_INDEX: prefix,
        HTTP_PORT: '0',
        DASHBOARD_READINESS_INTERVAL_MS: '300',
      },
      testLogger.child({}, { level: 'fatal' }),
    );
    const url = `http://127.0.0.1:${watching.httpPort}`;
    const index = `${prefix}-*`;
    try {
      await client.driver.indices.close({ index });
      for (const path of ['/api/clicks', '/api/top?by=url', '/api/top?by=country&window=hour', '/api/freshness']) {
        const response = await fetch(`${url}${path}`);
        assert.equal(response.status, 503, path);
        const body = (await response.json()) as { error: string; message: string };
        assert.equal(body.error, 'metrics_index_unreadable', path);
        assert.match(body.message, /closed/);
      }
      await pollUntil(
        () => fetch(`${url}/readyz`).then((r) => r.status),
        (status) => status === 503,
        10_000,
        100,
      );
    } catch (err) {
      await watching.stop();
      throw err;
    } finally {
      await client.driver.indices.open({ index, wait_for_active_shards: 1 });
    }
    try {
      await pollUntil(
        () => fetch(`${url}/readyz`).then((r) => r.status),
        (status) => status === 200,
        10_000,
        100,
      );
      assert.equal((await fetch(`${url}/api/top?by=url`)).status, 200);
    } finally {
      await watching.stop();
    }
  });
});

describe('npm run dashboard', () => {
  test('when a variable is wrong, then it exits 1 naming it; when configured, it runs until SIGTERM and exits 0', async () => {
    const run = (env: Record<string, string>): ReturnType<typeof spawn> =>
      spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', 'services/dashboard/src/main.ts'], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    const exitOf = (child: ReturnType<typeof spawn>): Promise<number | null> => new Promise((resolve) => child.once('exit', resolve));
    const bad = run({ HTTP_PORT: '70000', DASHBOARD_QUERY_TIMEOUT_MS: '0' });
    let output = '';
    bad.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    assert.equal(await exitOf(bad), 1);
    const line = JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as { level?: string; variables?: string[] };
    assert.equal(line.level, 'fatal');
    assert.deepEqual(line.variables?.sort(), ['DASHBOARD_QUERY_TIMEOUT_MS', 'HTTP_PORT']);

    const port = await closedPort();
    const good = run({ HTTP_PORT: String(port), ELASTICSEARCH_URL: stackEnv.ELASTICSEARCH_URL, ELASTICSEARCH_INDEX: prefix });
    const exited = exitOf(good);
    const ready = await pollUntil(
      () =>
        fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.status,
          () => 0,
        ),
      (status) => status === 200,
      30_000,
    );
    assert.equal(ready, 200);
    good.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});
