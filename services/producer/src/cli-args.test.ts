import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_COUNT, DEFAULT_SEED, USAGE, parseCliArgs } from './cli-args.ts';
import type { ProducerRunOptions } from './cli-args.ts';

const NOW_MS = Date.UTC(2025, 0, 15, 12, 0, 0);
const HOUR_MS = 3_600_000;

const defaults: ProducerRunOptions = {
  count: DEFAULT_COUNT,
  ratePerSec: null,
  seed: DEFAULT_SEED,
  invalidRatio: 0,
  duplicateRatio: 0,
  startMs: NOW_MS - 24 * HOUR_MS,
  spanMs: 24 * HOUR_MS,
  nowMs: NOW_MS,
  users: null,
  topic: null,
};

describe('parseCliArgs, valid flags', () => {
  const cases: { when: string; argv: string[]; then: Partial<ProducerRunOptions> }[] = [
    { when: 'no flags', argv: [], then: {} },
    { when: '--count 5000', argv: ['--count', '5000'], then: { count: 5000 } },
    { when: '--count=42 (= form)', argv: ['--count=42'], then: { count: 42 } },
    { when: '--rate 2000', argv: ['--rate', '2000'], then: { ratePerSec: 2000 } },
    { when: 'a fractional --rate', argv: ['--rate', '0.5'], then: { ratePerSec: 0.5 } },
    { when: '--seed 7', argv: ['--seed', '7'], then: { seed: 7 } },
    { when: 'a negative --seed in = form', argv: ['--seed=-3'], then: { seed: -3 } },
    { when: '--invalid-ratio 0.05', argv: ['--invalid-ratio', '0.05'], then: { invalidRatio: 0.05 } },
    { when: '--duplicate-ratio 1 (the upper bound)', argv: ['--duplicate-ratio', '1'], then: { duplicateRatio: 1 } },
    {
      when: 'ratios adding up to exactly 1',
      argv: ['--invalid-ratio', '0.5', '--duplicate-ratio', '0.5'],
      then: { invalidRatio: 0.5, duplicateRatio: 0.5 },
    },
    { when: '--span-hours 2', argv: ['--span-hours', '2'], then: { spanMs: 2 * HOUR_MS, startMs: NOW_MS - 2 * HOUR_MS } },
    { when: 'a fractional --span-hours', argv: ['--span-hours', '0.5'], then: { spanMs: HOUR_MS / 2, startMs: NOW_MS - HOUR_MS / 2 } },
    { when: '--users 50', argv: ['--users', '50'], then: { users: 50 } },
    { when: '--topic producer-check', argv: ['--topic', 'producer-check'], then: { topic: 'producer-check' } },
    { when: 'a flag repeated (the last one wins)', argv: ['--count', '1', '--count', '2'], then: { count: 2 } },
  ];
  for (const { when, argv, then } of cases) {
    test(`when ${when}, then the options are the defaults with ${JSON.stringify(then)}`, () => {
      assert.deepEqual(parseCliArgs(argv, NOW_MS), { kind: 'run', options: { ...defaults, ...then } });
    });
  }
});

describe('parseCliArgs, help', () => {
  for (const argv of [['--help'], ['-h'], ['--count', 'abc', '--help']]) {
    test(`when ${argv.join(' ')}, then help is asked for (even next to a bad flag)`, () => {
      assert.deepEqual(parseCliArgs(argv, NOW_MS), { kind: 'help' });
    });
  }
  test('the usage text lists every flag', () => {
    for (const flag of [
      '--count',
      '--rate',
      '--seed',
      '--invalid-ratio',
      '--duplicate-ratio',
      '--span-hours',
      '--users',
      '--topic',
      '--help',
    ]) {
      assert.ok(USAGE.includes(flag), flag);
    }
  });
});

describe('parseCliArgs, bad input', () => {
  const cases: { when: string; argv: string[]; message: RegExp }[] = [
    { when: 'an unknown flag', argv: ['--cnt', '5'], message: /Unknown option '--cnt'/ },
    { when: 'a positional argument', argv: ['5000'], message: /Unexpected argument '5000'/ },
    { when: '--count without a value', argv: ['--count'], message: /--count/ },
    { when: 'a non-numeric --count', argv: ['--count', 'abc'], message: /^--count must be a whole number \(got "abc"\)$/ },
    { when: 'a fractional --count', argv: ['--count', '2.5'], message: /^--count must be a whole number/ },
    { when: 'a --count in exponent form', argv: ['--count', '1e3'], message: /^--count must be a whole number/ },
    { when: '--count 0', argv: ['--count', '0'], message: /^--count must be at least 1/ },
    { when: 'an empty --count', argv: ['--count='], message: /^--count must be a whole number/ },
    { when: 'a huge --count', argv: ['--count', '99999999999999999999'], message: /^--count is too large/ },
    { when: '--rate 0', argv: ['--rate', '0'], message: /^--rate must be greater than 0 \(got "0"\)$/ },
    { when: 'a negative --rate', argv: ['--rate=-5'], message: /^--rate must be greater than 0/ },
    { when: 'a non-numeric --rate', argv: ['--rate', 'fast'], message: /^--rate must be a number/ },
    {
      when: '--invalid-ratio above 1',
      argv: ['--invalid-ratio', '1.5'],
      message: /^--invalid-ratio must be between 0 and 1 \(got "1.5"\)$/,
    },
    { when: '--duplicate-ratio below 0', argv: ['--duplicate-ratio=-0.1'], message: /^--duplicate-ratio must be between 0 and 1/ },
    { when: 'a percentage given as a ratio', argv: ['--invalid-ratio', '5%'], message: /^--invalid-ratio must be a number/ },
    {
      when: 'ratios adding up to more than 1',
      argv: ['--invalid-ratio', '0.6', '--duplicate-ratio', '0.5'],
      message: /^--invalid-ratio plus --duplicate-ratio must not exceed 1 \(got 0.6 \+ 0.5\)$/,
    },
    { when: '--span-hours 0', argv: ['--span-hours', '0'], message: /^--span-hours must be greater than 0/ },
    { when: 'a fractional --seed', argv: ['--seed', '1.5'], message: /^--seed must be a whole number/ },
    { when: '--users 0', argv: ['--users', '0'], message: /^--users must be at least 1/ },
    { when: 'a topic name with a space', argv: ['--topic', 'my topic'], message: /^--topic must be a Kafka topic name/ },
    {
      when: 'two bad flags',
      argv: ['--count', 'x', '--rate', '0'],
      message: /^--count must be a whole number.*; --rate must be greater than 0/,
    },
  ];
  for (const { when, argv, message } of cases) {
    test(`when ${when}, then an error names the flag`, () => {
      const result = parseCliArgs(argv, NOW_MS);
      assert.equal(result.kind, 'error');
      assert.match(result.message, message);
    });
  }
});
