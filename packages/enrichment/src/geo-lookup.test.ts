import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createGeoLookup, geoDatabaseDate, type GeoLocation } from './geo-lookup.ts';

// What the geoip-lite database bundled with 1.4.10 really returns.
const cases: ReadonlyArray<{ when: string; ip: string; location: GeoLocation | null }> = [
  { when: 'the IP is Google DNS (country only)', ip: '8.8.8.8', location: { country: 'US', region: null, city: null } },
  { when: 'the IP is Quad9 DNS', ip: '9.9.9.9', location: { country: 'US', region: 'CA', city: 'Berkeley' } },
  { when: 'the IP is in the UK', ip: '81.2.69.142', location: { country: 'GB', region: 'ENG', city: 'St Albans' } },
  { when: 'the IP is Google DNS over IPv6', ip: '2001:4860:4860::8888', location: { country: 'US', region: null, city: null } },
  { when: 'the database has the range but no country', ip: '1.1.1.1', location: { country: null, region: null, city: null } },
  { when: 'the IP is loopback', ip: '127.0.0.1', location: null },
  { when: 'the IP is private', ip: '192.168.1.10', location: null },
];

await test('createGeoLookup', async (t) => {
  const geo = createGeoLookup();
  for (const { when, ip, location } of cases) {
    await t.test(`when ${when}, then the lookup is ${JSON.stringify(location)}`, () => {
      assert.deepEqual(geo.lookup(ip), location);
    });
  }
});

describe('geoDatabaseDate', () => {
  const folder = (files: Record<string, string>): string => {
    const dir = mkdtempSync(join(tmpdir(), 'geo-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  };
  const sums = (city: string, country: string): Record<string, string> => ({
    'city.checksum': `abc  GeoLite2-City-CSV_${city}.zip`,
    'country.checksum': `def  GeoLite2-Country-CSV_${country}.zip`,
  });

  test('when the bundled database is read, then its release date is a real day', () => {
    const date = geoDatabaseDate(undefined);
    assert.ok(date !== null && date.getTime() > Date.UTC(2020, 0, 1), String(date));
  });
  test('when both checksum files name a release, then the older one is the date', () => {
    assert.equal(geoDatabaseDate(folder(sums('20250301', '20250215')))?.toISOString(), '2025-02-15T00:00:00.000Z');
  });
  test('when a checksum file is missing, then the date is unknown', () => {
    assert.equal(geoDatabaseDate(folder({ 'city.checksum': 'abc  GeoLite2-City-CSV_20250301.zip' })), null);
  });
  test('when a checksum file names no release, then the date is unknown', () => {
    assert.equal(geoDatabaseDate(folder(sums('2025031', '20250301'))), null);
    assert.equal(geoDatabaseDate(folder({ 'city.checksum': '', 'country.checksum': '\u0000\u00ff' })), null);
  });
  test('when the folder does not exist, then the date is unknown', () => {
    assert.equal(geoDatabaseDate('/nonexistent/geo'), null);
  });
});
