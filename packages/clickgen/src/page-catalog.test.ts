import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPageCatalog, renderPageUrl } from './page-catalog.ts';
import { createRandom } from './random.ts';

/** url_key as events.md defines it, written from the spec for this test. */
function urlKey(url: string): string {
  const trim = (path: string): string => (path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path);
  if (url.startsWith('/')) return trim(url.split(/[?#]/)[0] ?? url);
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${trim(parsed.pathname)}`;
}

await test('page catalog', async (t) => {
  await t.test('when built, then it has the requested number of distinct pages, path-only ones included', () => {
    for (const count of [1, 4, 9, 10, 200, 2_000]) {
      const catalog = createPageCatalog(count, createRandom(1));
      assert.equal(catalog.pages.length, count);
      assert.equal(new Set(catalog.pages.map((p) => p.urlKey)).size, count);
      assert.equal(catalog.pages.filter((p) => p.origin === null).length, count >= 10 ? 2 : 0);
    }
  });

  await t.test('when a page url is rendered in any spelling, then it normalises to the page url_key', () => {
    const catalog = createPageCatalog(200, createRandom(2));
    const random = createRandom(3);
    const spellings = new Set<string>();
    for (const page of catalog.pages) {
      assert.equal(urlKey((page.origin ?? '') + page.path), page.urlKey);
      for (let i = 0; i < 50; i += 1) {
        const url = renderPageUrl(page, random);
        assert.equal(urlKey(url), page.urlKey, url);
        spellings.add(url);
      }
    }
    const all = [...spellings];
    for (const pattern of [/\?utm_source=/, /#/, /:443\//, /:80\//, /WWW\.SHOP\.EXAMPLE/, /\/products\/[^/?#]+\/$/, /^https:\/\/[^/]+$/]) {
      assert.ok(
        all.some((url) => pattern.test(url)),
        String(pattern),
      );
    }
  });

  await t.test('when pages are picked, then popularity is Zipf-like with the home pages on top', () => {
    const catalog = createPageCatalog(200, createRandom(4));
    const random = createRandom(5);
    const counts = new Map<string, number>();
    for (let i = 0; i < 50_000; i += 1) {
      const key = catalog.pickAny(random).urlKey;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const top = [...counts].sort((a, b) => b[1] - a[1]);
    assert.equal(top[0]?.[0], 'https://www.shop.example/');
    assert.ok((top[0]?.[1] ?? 0) > 2 * (top[3]?.[1] ?? 0));
  });
});
