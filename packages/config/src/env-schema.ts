import { z } from 'zod';

/** A comma-separated list of non-empty strings (`a:1,b:2`), trimmed. */
export const commaList = (defaultValue: string) =>
  z
    .string()
    .default(defaultValue)
    .transform((value) =>
      value
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part.length > 0),
    )
    .refine((parts) => parts.length > 0, 'must list at least one entry');

/**
 * A whole number written in decimal digits, blanks around it ignored, within `min`..`max`.
 * (`z.coerce.number()` took a blank value as 0, and hex, exponents and signs: `0x1F91`, `1e3`, `+8`.)
 */
export const wholeNumber = (min: number, max: number = Number.MAX_SAFE_INTEGER, messages: { tooSmall?: string; tooBig?: string } = {}) =>
  z
    .string()
    .trim()
    .regex(/^\d{1,16}$/, 'expected a whole number in decimal digits')
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, messages.tooSmall ?? `at least ${min}`)
        .max(max, messages.tooBig ?? `at most ${max}`),
    );

/** A TCP port number, 0..65535 (0 lets the OS choose, useful in tests). */
export const port = (defaultValue: number) => wholeNumber(0, 65_535).default(defaultValue);

/** A positive integer with a default, for sizes and counts (units belong in the variable name), at most `max`. */
export const positiveInt = (defaultValue: number, max?: number) => wholeNumber(1, max).default(defaultValue);

/** A count that may be 0 (often "off"), with a default, at most `max`. */
export const nonNegativeInt = (defaultValue: number, max?: number) => wholeNumber(0, max).default(defaultValue);

/** The longest delay a Node timer takes: past it, setTimeout fires after 1 ms (with a warning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A positive duration in milliseconds with a default, at most {@link MAX_TIMER_MS} (~24.8 days): every one ends up in a timer. */
export const durationMs = (defaultValue: number, least: { min: number; why: string } = { min: 1, why: 'at least 1 ms' }) =>
  wholeNumber(least.min, MAX_TIMER_MS, {
    tooSmall: least.why,
    tooBig: `at most ${MAX_TIMER_MS} ms (~24.8 days, the longest a Node timer waits)`,
  }).default(defaultValue);

/** A name or id: blanks around it dropped, not blank, no control characters. */
export const nonBlankString = () =>
  z
    .string()
    .trim()
    .min(1, 'must not be blank')
    .regex(/^[^\u0000-\u001f\u007f-\u009f]*$/, 'must not hold control characters');

/** `true`/`false`/`1`/`0`/`yes`/`no`, in any case, blanks around ignored. */
export const booleanFlag = (defaultValue: boolean) =>
  z
    .preprocess(
      (value) => (typeof value === 'string' ? value.trim().toLowerCase() : value),
      z.enum(['true', 'false', '1', '0', 'yes', 'no']),
    )
    .default(defaultValue ? 'true' : 'false')
    .transform((value) => ['true', '1', 'yes'].includes(value));

/** An optional secret or setting: empty strings count as unset. */
export const optionalString = () =>
  z
    .string()
    .optional()
    .transform((value) => (value === undefined || value === '' ? undefined : value));
