import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '@clickstream/config';
import { loadDashboardConfig } from './config.ts';

test('the dashboard configuration', async (t) => {
  const cases: { when: string; env: Record<string, string>; wrong: string[] }[] = [
    { when: 'nothing is set', env: {}, wrong: [] },
    { when: 'a user name comes with its password', env: { ELASTICSEARCH_USERNAME: 'u', ELASTICSEARCH_PASSWORD: 'p' }, wrong: [] },
    // Like every service: refused at start, not a 401 on every query later.
    { when: 'a user name has no password', env: { ELASTICSEARCH_USERNAME: 'u' }, wrong: ['ELASTICSEARCH_PASSWORD'] },
    { when: 'a password has no user name', env: { ELASTICSEARCH_PASSWORD: 'p' }, wrong: ['ELASTICSEARCH_USERNAME'] },
  ];
  for (const { when, env, wrong } of cases)
    await t.test(`when ${when}, then ${wrong.length === 0 ? 'it parses' : `it names ${wrong.join(', ')}`}`, () => {
      try {
        loadDashboardConfig(env);
        assert.deepEqual([], wrong);
      } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        assert.deepEqual([...err.variables].sort(), wrong);
      }
    });
});
