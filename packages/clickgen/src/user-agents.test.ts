import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isbot } from 'isbot';
import UAParser from 'ua-parser-js';
import { createClickGenerator } from './index.ts';
import { BROWSER_AGENTS, CRAWLER_AGENTS } from './user-agents.ts';

await test('user agents', async (t) => {
  await t.test('when a browser agent is parsed, then it is no bot and has the device type it is listed with', () => {
    for (const agent of BROWSER_AGENTS) {
      assert.equal(isbot(agent.userAgent), false, agent.userAgent);
      const result = new UAParser(agent.userAgent).getResult();
      assert.equal(result.device.type ?? 'desktop', agent.device, agent.userAgent);
      assert.ok(result.browser.name !== undefined && result.os.name !== undefined, agent.userAgent);
    }
    assert.deepEqual(new Set(BROWSER_AGENTS.map((a) => a.device)), new Set(['desktop', 'mobile', 'tablet']));
  });

  await t.test('when a crawler agent is checked, then isbot recognises it', () => {
    for (const agent of CRAWLER_AGENTS) assert.equal(isbot(agent.userAgent), true, agent.userAgent);
  });

  await t.test('when events are generated, then isbot agrees with the expected bot flag', () => {
    const events = [...createClickGenerator({ seed: 9, count: 5_000, startMs: Date.UTC(2024, 4, 1), botRatio: 0.1 })].flatMap((m) =>
      m.event === undefined ? [] : [m.event],
    );
    assert.ok(events.some((e) => e.expected.isBot) && events.some((e) => !e.expected.isBot));
    for (const event of events) {
      if (event.userAgent !== null) assert.equal(isbot(event.userAgent), event.expected.isBot, event.userAgent);
    }
    const browsers = new Set(
      events.map((e) => (e.userAgent === null ? 'none' : (new UAParser(e.userAgent).getBrowser().name ?? 'unknown'))),
    );
    for (const name of ['Chrome', 'Firefox', 'Safari', 'Edge', 'Mobile Safari']) assert.ok(browsers.has(name), name);
  });
});
