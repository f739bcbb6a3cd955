import assert from 'node:assert/strict';
import { test } from 'node:test';
import { geoDatabaseNotice } from './geo-database-age.ts';

const DAY_MS = 24 * 3_600_000;
const released = new Date(Date.UTC(2023, 10, 15));

const cases: { when: string; ageDays: number; level: 'info' | 'warn' }[] = [
  { when: 'the database is a day old', ageDays: 1, level: 'info' },
  { when: 'the database is exactly 183 days old', ageDays: 183, level: 'info' },
  { when: 'the database is 184 days old', ageDays: 184, level: 'warn' },
  { when: 'the database is two years old', ageDays: 740, level: 'warn' },
];
for (const { when, ageDays, level } of cases) {
  test(`when ${when}, then the start-up line is at ${level} with its date and age`, () => {
    const notice = geoDatabaseNotice(released, released.getTime() + ageDays * DAY_MS);
    assert.equal(notice.level, level);
    assert.deepEqual(notice.fields, { geoDatabase: '2023-11-15', geoDatabaseAgeDays: ageDays });
    if (level === 'warn') assert.match(notice.msg, /npm run geoip:update/);
  });
}

test('when the date is unknown, then it warns', () => {
  assert.equal(geoDatabaseNotice(null, Date.now()).level, 'warn');
});
