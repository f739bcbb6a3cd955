import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toUrlKey } from './url-key.ts';

const cases: ReadonlyArray<{ when: string; url: string; key: string | null }> = [
  {
    when: 'an https URL has upper-case host, default port, trailing slash, query and fragment',
    url: 'https://Shop.example.com:443/p/1/?q=1#x',
    key: 'https://shop.example.com/p/1',
  },
  { when: 'an http URL has its default port', url: 'http://example.com:80/a', key: 'http://example.com/a' },
  { when: 'a URL has a non-default port', url: 'http://example.com:8080/a', key: 'http://example.com:8080/a' },
  { when: 'the scheme is upper-case', url: 'HTTPS://EXAMPLE.COM/Path', key: 'https://example.com/Path' },
  { when: 'the URL has no path', url: 'https://example.com', key: 'https://example.com/' },
  { when: 'the path is only /', url: 'https://example.com/?q=1', key: 'https://example.com/' },
  { when: 'the path ends in two slashes', url: 'https://example.com/a//', key: 'https://example.com/a/' },
  { when: 'the URL has credentials', url: 'https://user:secret@example.com/a', key: 'https://example.com/a' },
  { when: 'the URL has dot segments', url: 'https://example.com/a/../b/./c', key: 'https://example.com/b/c' },
  { when: 'the host is internationalised', url: 'https://Bücher.de/a', key: 'https://xn--bcher-kva.de/a' },
  { when: 'the host is an IPv6 literal', url: 'http://[::1]:80/x/', key: 'http://[::1]/x' },
  { when: 'a path has a trailing slash, query and fragment', url: '/home/?a=1#top', key: '/home' },
  { when: 'a path is /', url: '/', key: '/' },
  { when: 'a path has a space and dot segments', url: '/a/../b c', key: '/b%20c' },
  { when: 'the value is protocol-relative', url: '//evil.com/a', key: null },
  { when: 'the value is protocol-relative with a backslash', url: '/\\evil.com/a', key: null },
  { when: 'the scheme is ftp', url: 'ftp://example.com/a', key: null },
  { when: 'the scheme is javascript', url: 'javascript:alert(1)', key: null },
  { when: 'the value is a relative path without leading slash', url: 'home/page', key: null },
  { when: 'the value is a bare host', url: 'example.com/a', key: null },
  { when: 'the URL has no host', url: 'https://', key: null },
  { when: 'the value is empty', url: '', key: null },
];

await test('toUrlKey', async (t) => {
  for (const { when, url, key } of cases) {
    await t.test(`when ${when}, then the url key is ${String(key)}`, () => {
      assert.equal(toUrlKey(url), key);
    });
  }
});
