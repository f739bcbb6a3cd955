/** Options of {@link createClickGenerator}; see each field for its default. */
export interface ClickGeneratorOptions {
  /** Any safe integer. The same options give a byte-identical message sequence. */
  readonly seed: number;
  /** Number of messages to produce (valid, duplicate and invalid together). */
  readonly count: number;
  /** Start of the event-time range, epoch ms (UTC). Required: the generator never reads the clock. */
  readonly startMs: number;
  /** Length of the event-time range in ms; every valid event time is in [startMs, startMs + spanMs). Default 3 days. */
  readonly spanMs?: number;
  /** Number of distinct human users. Default 3,000 (plus a handful of crawler identities). */
  readonly users?: number;
  /** Number of distinct pages (url_keys): home pages, products, articles, docs, and two path-only app pages. Default 200. */
  readonly pages?: number;
  /** Share of valid events sent by crawlers and scripts (bot user agents). Default 0.03. */
  readonly botRatio?: number;
  /** Share of valid events carrying `time_spent_ms` (crawlers never do). Default 0.3. */
  readonly timeSpentRatio?: number;
  /** Share of messages that re-send a recent valid message verbatim (same key and value). Default 0. */
  readonly duplicateRatio?: number;
  /** Share of messages that break the contract (see {@link GeneratedInvalidReason}). Default 0. */
  readonly invalidRatio?: number;
  /**
   * The ingest clock the future timestamps are relative to (they are 25 hours to 30 days after it).
   * Default `startMs + spanMs`: pass the real time when the event-time range is far in the past.
   */
  readonly nowMs?: number;
}

/** Options with every default filled in, validated and frozen. */
export interface ResolvedClickGeneratorOptions {
  readonly seed: number;
  readonly count: number;
  readonly startMs: number;
  readonly spanMs: number;
  readonly users: number;
  readonly pages: number;
  readonly botRatio: number;
  readonly timeSpentRatio: number;
  readonly duplicateRatio: number;
  readonly invalidRatio: number;
  readonly nowMs: number;
}

/** Thrown by {@link createClickGenerator} for an option out of range; the message names the option. */
export class ClickGeneratorOptionsError extends Error {
  override readonly name = 'ClickGeneratorOptionsError';
  readonly code = 'invalid_options';
  readonly retriable = false;
  /** The offending option. */
  readonly option: string;

  constructor(option: string, message: string) {
    super(`clickgen option ${option}: ${message}`);
    this.option = option;
  }
}

const DAY_MS = 86_400_000;

/** Fills in defaults and validates; throws {@link ClickGeneratorOptionsError} naming the first bad option. */
export function resolveOptions(options: ClickGeneratorOptions): ResolvedClickGeneratorOptions {
  const spanMs = options.spanMs ?? 3 * DAY_MS;
  const resolved: ResolvedClickGeneratorOptions = {
    seed: options.seed,
    count: options.count,
    startMs: options.startMs,
    spanMs,
    users: options.users ?? 3_000,
    pages: options.pages ?? 200,
    botRatio: options.botRatio ?? 0.03,
    timeSpentRatio: options.timeSpentRatio ?? 0.3,
    duplicateRatio: options.duplicateRatio ?? 0,
    invalidRatio: options.invalidRatio ?? 0,
    nowMs: options.nowMs ?? options.startMs + spanMs,
  };
  requireInteger('seed', resolved.seed, Number.MIN_SAFE_INTEGER);
  requireInteger('count', resolved.count, 0);
  requireInteger('startMs', resolved.startMs, Number.MIN_SAFE_INTEGER);
  requireInteger('spanMs', resolved.spanMs, 1);
  requireInteger('users', resolved.users, 1);
  requireInteger('pages', resolved.pages, 1);
  requireInteger('nowMs', resolved.nowMs, Number.MIN_SAFE_INTEGER);
  for (const name of ['botRatio', 'timeSpentRatio', 'duplicateRatio', 'invalidRatio'] as const) {
    const value = resolved[name];
    if (!(value >= 0 && value <= 1)) throw new ClickGeneratorOptionsError(name, `must be a number in [0, 1], got ${String(value)}`);
  }
  if (resolved.duplicateRatio + resolved.invalidRatio > 1) {
    throw new ClickGeneratorOptionsError('duplicateRatio', 'duplicateRatio + invalidRatio must not exceed 1');
  }
  return Object.freeze(resolved);
}

function requireInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ClickGeneratorOptionsError(name, `must be a safe integer >= ${min}, got ${String(value)}`);
  }
}
