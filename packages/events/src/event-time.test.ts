import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEventTime } from './event-time.ts';

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
];

await test('parseEventTime accepts', async (t) => {
  for (const { when, value, iso } of valid) {
    await t.test(`when ${when}, then it parses to ${iso}`, () => {
      assert.equal(parseEventTime(value)?.toISOString(), iso);
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
  { when: 'the number is beyond the Date range', value: 9e15 },
  { when: 'the digits exceed a safe integer', value: '99999999999999999999' },
];

await test('parseEventTime rejects', async (t) => {
  for (const { when, value } of invalid) {
    await t.test(`when ${when}, then it is not a time`, () => {
      assert.equal(parseEventTime(value), null);
    });
  }
});
