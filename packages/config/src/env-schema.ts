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

/** A TCP port number, 0..65535 (0 lets the OS choose, useful in tests). */
export const port = (defaultValue: number) => z.coerce.number().int().min(0).max(65_535).default(defaultValue);

/** A positive integer with a default, for sizes and counts (units belong in the variable name). */
export const positiveInt = (defaultValue: number) => z.coerce.number().int().positive().default(defaultValue);

/** The longest delay a Node timer takes: past it, setTimeout fires after 1 ms (with a warning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A positive duration in milliseconds with a default, at most {@link MAX_TIMER_MS} (~24.8 days): every one ends up in a timer. */
export const durationMs = (defaultValue: number) =>
  z.coerce
    .number()
    .int()
    .positive()
    .max(MAX_TIMER_MS, `at most ${MAX_TIMER_MS} ms (~24.8 days, the longest a Node timer waits)`)
    .default(defaultValue);

/** `true`/`false`/`1`/`0`/`yes`/`no` (case-insensitive). */
export const booleanFlag = (defaultValue: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'TRUE', 'FALSE', 'True', 'False'])
    .default(defaultValue ? 'true' : 'false')
    .transform((value) => ['true', '1', 'yes'].includes(value.toLowerCase()));

/** An optional secret or setting: empty strings count as unset. */
export const optionalString = () =>
  z
    .string()
    .optional()
    .transform((value) => (value === undefined || value === '' ? undefined : value));
