import assert from 'node:assert/strict';
import { test } from 'node:test';
import { USER_AGENTS } from './test-user-agents.ts';
import { createUserAgentParser, parseUserAgent, type UserAgentDetails } from './user-agent.ts';

const cases: ReadonlyArray<{ when: string; userAgent: string; details: UserAgentDetails }> = [
  {
    when: 'the user agent is Chrome on Windows',
    userAgent: USER_AGENTS.chromeWindows,
    details: { browser: 'Chrome', browserVersion: '124.0.0.0', os: 'Windows', osVersion: '10', deviceType: 'desktop', isBot: false },
  },
  {
    when: 'the user agent is Safari on an iPhone',
    userAgent: USER_AGENTS.iphoneSafari,
    details: { browser: 'Mobile Safari', browserVersion: '17.4', os: 'iOS', osVersion: '17.4', deviceType: 'mobile', isBot: false },
  },
  {
    when: 'the user agent is Safari on an iPad',
    userAgent: USER_AGENTS.ipadSafari,
    details: { browser: 'Mobile Safari', browserVersion: '16.6', os: 'iOS', osVersion: '16.6', deviceType: 'tablet', isBot: false },
  },
  {
    when: 'the user agent is a Samsung smart TV',
    userAgent: USER_AGENTS.samsungTv,
    details: { browser: 'Samsung Internet', browserVersion: '4.0', os: 'Tizen', osVersion: '6.0', deviceType: 'smarttv', isBot: false },
  },
  {
    when: 'the user agent is Googlebot',
    userAgent: USER_AGENTS.googlebot,
    details: { browser: null, browserVersion: null, os: null, osVersion: null, deviceType: 'desktop', isBot: true },
  },
  {
    when: 'the user agent is curl',
    userAgent: 'curl/8.5.0',
    details: { browser: null, browserVersion: null, os: null, osVersion: null, deviceType: 'desktop', isBot: true },
  },
];

await test('parseUserAgent', async (t) => {
  for (const { when, userAgent, details } of cases) {
    await t.test(`when ${when}, then it is ${details.deviceType}${details.isBot ? ' and a bot' : ''}`, () => {
      assert.deepEqual(parseUserAgent(userAgent), details);
    });
  }
});

function countingParser(cacheSize: number) {
  const calls: string[] = [];
  const parser = createUserAgentParser({
    cacheSize,
    parse: (userAgent) => {
      calls.push(userAgent);
      return parseUserAgent(userAgent);
    },
  });
  return { parser, calls };
}

await test('when the same user agent is parsed twice, then the parse function runs once and both results agree', () => {
  const { parser, calls } = countingParser(10);
  const first = parser.parse(USER_AGENTS.chromeWindows);
  assert.deepEqual(parser.parse(USER_AGENTS.chromeWindows), first);
  assert.deepEqual(calls, [USER_AGENTS.chromeWindows]);
});

await test('when more distinct user agents than the cache size are parsed, then the least recently used is parsed again', () => {
  const { parser, calls } = countingParser(2);
  for (const userAgent of [
    USER_AGENTS.chromeWindows,
    USER_AGENTS.iphoneSafari,
    USER_AGENTS.chromeWindows,
    USER_AGENTS.ipadSafari,
    USER_AGENTS.iphoneSafari,
  ]) {
    parser.parse(userAgent);
  }
  assert.deepEqual(calls, [USER_AGENTS.chromeWindows, USER_AGENTS.iphoneSafari, USER_AGENTS.ipadSafari, USER_AGENTS.iphoneSafari]);
});
