import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createGeoLookup, type GeoLocation } from './geo-lookup.ts';

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
