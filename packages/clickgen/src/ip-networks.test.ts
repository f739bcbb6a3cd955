import assert from 'node:assert/strict';
import { test } from 'node:test';
import geoip from 'geoip-lite';
import { createClickGenerator } from './index.ts';
import { BINGBOT_PREFIXES, COUNTRY_NETWORKS, GOOGLEBOT_PREFIXES } from './ip-networks.ts';

await test('IP networks', async (t) => {
  await t.test('when geoip-lite looks up any address of a listed network, then it gives the listed country', () => {
    const listed = [
      ...COUNTRY_NETWORKS.map((n) => ({ country: n.country, prefixes: n.prefixes })),
      { country: 'US', prefixes: [...GOOGLEBOT_PREFIXES, ...BINGBOT_PREFIXES] },
    ];
    for (const { country, prefixes } of listed) {
      for (const prefix of prefixes) {
        for (const host of [1, 64, 127, 200, 254]) {
          assert.equal(geoip.lookup(`${prefix}.${host}`)?.country, country, `${prefix}.${host}`);
        }
      }
    }
  });

  await t.test('when 10k messages are generated, then geoip-lite resolves every ip to the expected country, 20+ countries in all', () => {
    const countries = new Set<string>();
    for (const message of createClickGenerator({ seed: 3, count: 10_000, startMs: Date.UTC(2024, 4, 1) })) {
      const ip = message.event?.ip;
      if (ip === undefined || ip === null) continue;
      const found = geoip.lookup(ip)?.country;
      assert.equal(found, message.event?.expected.country, ip);
      countries.add(found ?? 'ZZ');
    }
    assert.ok(countries.size >= 20, `countries: ${countries.size}`);
  });
});
