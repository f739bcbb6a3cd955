import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClickEvent, EnrichedClick } from '@clickstream/events';
import { createEnricher } from './enrich-event.ts';
import { createGeoLookup, type GeoLookup } from './geo-lookup.ts';
import type { IpPolicy } from './ip-policy.ts';
import { USER_AGENTS } from './test-user-agents.ts';
import { createUserAgentParser } from './user-agent.ts';

const INGESTED_AT = new Date('2024-05-01T10:00:05Z');
const EVENT: ClickEvent = {
  eventId: 'e1',
  userId: 'u1',
  sessionId: 's1',
  eventTime: new Date('2024-05-01T10:00:00Z'),
  url: 'https://example.com/a?x=1',
  urlKey: 'https://example.com/a',
  ip: null,
  userAgent: null,
  referrer: 'https://ref.example/',
  timeSpentMs: 1500,
  country: null,
  region: null,
  city: null,
  browser: null,
  os: null,
  device: null,
};

const geo = createGeoLookup();
const userAgents = createUserAgentParser({ cacheSize: 100 });
const enrich = (event: Partial<ClickEvent>, ipPolicy: IpPolicy = 'truncated', lookup: GeoLookup = geo) =>
  createEnricher({ geo: lookup, userAgents, ipPolicy })({ ...EVENT, ...event }, INGESTED_AT);

await test('when an event has an IP and a desktop user agent and nothing pre-enriched, then the row has every looked-up part', () => {
  const expected: EnrichedClick = {
    eventId: 'e1',
    userId: 'u1',
    sessionId: 's1',
    eventTime: new Date('2024-05-01T10:00:00Z'),
    url: 'https://example.com/a?x=1',
    urlKey: 'https://example.com/a',
    ip: '9.9.9.0',
    userAgent: USER_AGENTS.chromeWindows,
    referrer: 'https://ref.example/',
    timeSpentMs: 1500,
    country: 'US',
    region: 'CA',
    city: 'Berkeley',
    browser: 'Chrome',
    browserVersion: '124.0.0.0',
    os: 'Windows',
    osVersion: '10',
    deviceType: 'desktop',
    isBot: false,
    ingestedAt: INGESTED_AT,
  };
  assert.deepEqual(enrich({ ip: '9.9.9.9', userAgent: USER_AGENTS.chromeWindows }), expected);
});

const cases: ReadonlyArray<{ when: string; event: Partial<ClickEvent>; ipPolicy?: IpPolicy; expected: Partial<EnrichedClick> }> = [
  {
    when: 'nothing is known',
    event: {},
    expected: {
      ip: null,
      country: 'ZZ',
      region: null,
      city: null,
      browser: null,
      browserVersion: null,
      os: null,
      osVersion: null,
      deviceType: null,
      isBot: false,
    },
  },
  {
    when: 'the event is pre-enriched like the seeds, without IP or user agent',
    event: { country: 'US', city: 'Boston', browser: 'Chrome', os: 'Windows', device: 'desktop' },
    expected: {
      country: 'US',
      region: null,
      city: 'Boston',
      browser: 'Chrome',
      browserVersion: null,
      os: 'Windows',
      osVersion: null,
      deviceType: 'desktop',
      isBot: false,
    },
  },
  {
    when: 'the IP is known only to its country',
    event: { ip: '8.8.8.8' },
    expected: { ip: '8.8.8.0', country: 'US', region: null, city: null },
  },
  {
    when: 'the IP is IPv6',
    event: { ip: '2001:4860:4860::8888' },
    expected: { ip: '2001:4860:4860::', country: 'US' },
  },
  {
    when: 'the database knows the IP but not its country',
    event: { ip: '1.1.1.1' },
    expected: { country: 'ZZ', region: null, city: null },
  },
  {
    when: 'the IP is IPv4-mapped IPv6',
    event: { ip: '::ffff:9.9.9.9' },
    expected: { ip: '9.9.9.0', country: 'US', region: 'CA', city: 'Berkeley' },
  },
  {
    when: 'the IP is IPv4-mapped IPv6 in hex groups',
    event: { ip: '::FFFF:0909:0909' },
    expected: { ip: '9.9.9.0', country: 'US', region: 'CA', city: 'Berkeley' },
  },
  {
    when: 'the IP is loopback',
    event: { ip: '127.0.0.1' },
    expected: { ip: '127.0.0.0', country: 'ZZ', region: null, city: null },
  },
  {
    when: 'a pre-enriched city agrees with the looked-up country',
    event: { ip: '9.9.9.9', country: 'US', city: 'San Francisco' },
    expected: { country: 'US', region: 'CA', city: 'San Francisco' },
  },
  {
    when: 'a pre-enriched country contradicts the lookup',
    event: { ip: '9.9.9.9', country: 'GB' },
    expected: { country: 'GB', region: null, city: null },
  },
  {
    when: 'the user agent is an iPhone and the browser is pre-enriched with the same name',
    event: { userAgent: USER_AGENTS.iphoneSafari, browser: 'Mobile Safari' },
    expected: { browser: 'Mobile Safari', browserVersion: '17.4', os: 'iOS', osVersion: '17.4', deviceType: 'mobile' },
  },
  {
    when: 'pre-enriched browser and os contradict the user agent',
    event: { userAgent: USER_AGENTS.iphoneSafari, browser: 'Edge', os: 'Android' },
    expected: { browser: 'Edge', browserVersion: null, os: 'Android', osVersion: null, deviceType: 'mobile' },
  },
  {
    when: 'the user agent is an iPad but the device is pre-enriched in capitals',
    event: { userAgent: USER_AGENTS.ipadSafari, device: 'Desktop' },
    expected: { deviceType: 'desktop', isBot: false },
  },
  {
    when: 'the user agent is an iPad',
    event: { userAgent: USER_AGENTS.ipadSafari },
    expected: { deviceType: 'tablet', isBot: false },
  },
  {
    when: 'the user agent is Googlebot',
    event: { userAgent: USER_AGENTS.googlebot },
    expected: { browser: null, deviceType: 'desktop', isBot: true },
  },
  {
    when: 'the IP policy is full',
    event: { ip: '9.9.9.9' },
    ipPolicy: 'full',
    expected: { ip: '9.9.9.9', country: 'US' },
  },
];

await test('createEnricher', async (t) => {
  for (const { when, event, ipPolicy, expected } of cases) {
    await t.test(`when ${when}, then the row has ${JSON.stringify(expected)}`, () => {
      const row = enrich(event, ipPolicy);
      assert.deepEqual(Object.fromEntries(Object.keys(expected).map((key) => [key, row[key as keyof EnrichedClick]])), expected);
    });
  }
});

await test('when the IP policy is none, then no IP is stored but the location is still looked up', () => {
  const row = enrich({ ip: '9.9.9.9' }, 'none');
  assert.deepEqual([row.ip, row.country, row.city], [null, 'US', 'Berkeley']);
});

await test('when the IP is truncated, then the geo lookup still gets the full IP', () => {
  const looked: string[] = [];
  const recordingGeo: GeoLookup = {
    lookup(ip) {
      looked.push(ip);
      return { country: 'NL', region: null, city: null };
    },
  };
  const row = enrich({ ip: '203.0.113.57' }, 'truncated', recordingGeo);
  assert.deepEqual(looked, ['203.0.113.57']);
  assert.deepEqual([row.ip, row.country], ['203.0.113.0', 'NL']);
});
