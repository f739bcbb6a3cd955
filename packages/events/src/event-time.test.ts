import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkEventTime, MIN_EVENT_TIME_MS, parseEventTime } from './event-time.ts';

const TEN_AM = '2024-05-01T10:00:00.000Z';

const valid: ReadonlyArray<{ when: string; value: string | number; iso: string }> = [
  { when: 'an ISO time has Z', value: '2024-05-01T10:00:00Z', iso: TEN_AM },
  { when: 'an ISO time has no zone', value: '2024-05-01T10:00:00', iso: TEN_AM },
  { when: 'a space separates date and time', value: '2024-05-01 10:00:00', iso: TEN_AM },
  { when: 'letters are lower-case', value: '2024-05-01t10:00:00z', iso: TEN_AM },
  { when: 'the offset is +hh:mm', value: '2024-05-01T12:00:00+02:00', iso: TEN_AM },
  { when: 'the offset is -hhmm', value: '2024-05-01T05:30:00-0430', iso: TEN_AM },
  { when: 'the offset is +hh', value: '2024-05-01T11:00:00+01', iso: TEN_AM },
  { when: 'seconds are omitted', value: '2024-05-01T10:00Z', iso: TEN_AM },
  { when: 'the fraction has microseconds', value: '2024-05-01T10:00:00.123987Z', iso: '2024-05-01T10:00:00.123Z' },
  { when: 'the fraction has one digit', value: '2024-05-01T10:00:00.5Z', iso: '2024-05-01T10:00:00.500Z' },
  { when: 'only a date is given', value: '2024-05-01', iso: '2024-05-01T00:00:00.000Z' },
  { when: 'the date is a leap day', value: '2024-02-29T10:00:00Z', iso: '2024-02-29T10:00:00.000Z' },
  { when: 'epoch milliseconds are a number', value: 1714557600000, iso: TEN_AM },
  { when: 'epoch milliseconds are a string of digits', value: '1714557600000', iso: TEN_AM },
  { when: 'the year has two leading zeros (not read as 19xx)', value: '0099-01-01T00:00:00Z', iso: '0099-01-01T00:00:00.000Z' },
  { when: 'the year is 0001', value: '0001-01-01', iso: '0001-01-01T00:00:00.000Z' },
  { when: 'the number is the earliest Date', value: -8_640_000_000_000_000, iso: '-271821-04-20T00:00:00.000Z' },
];

await test('parseEventTime accepts', async (t) => {
  for (const { when, value, iso } of valid) {
    await t.test(`when ${when}, then it parses to ${iso}`, () => {
      assert.equal(new Date(parseEventTime(value) ?? NaN).toISOString(), iso);
    });
  }
});

const invalid: ReadonlyArray<{ when: string; value: string | number }> = [
  { when: 'the day does not exist', value: '2024-02-30T10:00:00Z' },
  { when: 'the month does not exist', value: '2024-13-01T10:00:00Z' },
  { when: 'the hour is 24', value: '2024-05-01T24:00:00Z' },
  { when: 'the minute is 60', value: '2024-05-01T10:60:00Z' },
  { when: 'the second is 60', value: '2024-05-01T10:00:60Z' },
  { when: 'the offset hour is 24', value: '2024-05-01T10:00:00+24:00' },
  { when: 'the text is not ISO-8601', value: 'May 1, 2024 10:00' },
  { when: 'a zone follows a bare date', value: '2024-05-01Z' },
  { when: 'the string is empty', value: '' },
  { when: 'the number has a fraction', value: 1714557600000.5 },
  { when: 'the number is not finite', value: Infinity },
  { when: 'the number is NaN', value: NaN },
  { when: 'the digits have a fraction', value: '1714557600000.5' },
  { when: 'the digits have more than 20 places', value: '1'.repeat(21) },
  { when: 'the digits are in exponent form', value: '1.7e12' },
];

await test('parseEventTime rejects', async (t) => {
  for (const { when, value } of invalid) {
    await t.test(`when ${when}, then it is not a time`, () => {
      assert.equal(parseEventTime(value), null);
    });
  }
});

const NOW = new Date('2024-05-01T12:00:00Z');
const DAY_MS = 86_400_000;

const ranges: ReadonlyArray<{ when: string; ms: number; reason: string | null; mentions?: RegExp }> = [
  { when: 'the time is 2000-01-01T00:00:00Z', ms: MIN_EVENT_TIME_MS, reason: null },
  { when: 'the time is 1 ms before 2000', ms: MIN_EVENT_TIME_MS - 1, reason: 'timestamp_out_of_range', mentions: /before 2000/ },
  { when: 'the time is epoch 0', ms: 0, reason: 'timestamp_out_of_range', mentions: /1970-01-01/ },
  { when: 'the time is negative', ms: -1, reason: 'timestamp_out_of_range', mentions: /before 2000/ },
  { when: 'the time is the earliest Date', ms: -8_640_000_000_000_000, reason: 'timestamp_out_of_range', mentions: /-271821/ },
  { when: 'the number is epoch seconds', ms: 1_714_557_600, reason: 'timestamp_out_of_range', mentions: /epoch seconds.*1714557600000/ },
  { when: 'the time is exactly 24 h after now', ms: NOW.getTime() + DAY_MS, reason: null },
  { when: 'the time is 1 ms more than 24 h after now', ms: NOW.getTime() + DAY_MS + 1, reason: 'timestamp_in_future' },
  { when: 'the number is beyond the Date range', ms: 9e15, reason: 'timestamp_in_future', mentions: /9000000000000000/ },
  { when: 'the number is 1e300', ms: 1e300, reason: 'timestamp_in_future' },
  { when: 'the number is epoch microseconds', ms: 1_714_557_600_000_000, reason: 'timestamp_in_future' },
];

await test('checkEventTime', async (t) => {
  for (const { when, ms, reason, mentions } of ranges) {
    await t.test(`when ${when}, then it is ${reason ?? 'accepted'}`, () => {
      const result = checkEventTime(ms, NOW);
      if (reason === null) {
        assert.ok(result.ok);
        assert.equal(result.eventTime.getTime(), ms);
      } else {
        assert.ok(!result.ok);
        assert.equal(result.reason, reason);
        if (mentions) assert.match(result.message, mentions);
      }
    });
  }
});
