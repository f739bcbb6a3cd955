import { Presets, SingleBar } from 'cli-progress';
import type { Logger } from '@clickstream/observability';
import type { MessageCounts, ProducerSummary } from './producer-summary.ts';
import { formatSummary, ratePerSec } from './producer-summary.ts';

/** `bar`: a redrawn progress bar for a person at a terminal; `log`: JSON log lines; `none`: silent. */
export type ProgressMode = 'bar' | 'log' | 'none';

export interface ProgressReporter {
  /** Called after each acknowledged batch. */
  update(counts: Readonly<MessageCounts>): void;
  /** Removes the bar (if any) and reports the summary: a text line under the bar, or one JSON log line. */
  finish(summary: ProducerSummary): void;
  /** Removes the bar without a summary (the run failed). Idempotent; harmless after `finish`. */
  close(): void;
}

/** A bar when the output is a terminal, log lines when it is a pipe or a file (CI, containers, `| jq`). */
export function progressModeFor(stream: { isTTY?: boolean }): ProgressMode {
  return stream.isTTY === true ? 'bar' : 'log';
}

export const LOG_INTERVAL_MS = 5_000;

/**
 * Whether a progress log line is due: every completed tenth of the total, or `intervalMs` after
 * the last line, whichever comes first; never for the last message (the summary follows).
 */
export function progressLogDue(state: {
  sent: number;
  total: number;
  lastSent: number;
  lastLoggedMs: number;
  nowMs: number;
  intervalMs: number;
}): boolean {
  const { sent, total, lastSent, lastLoggedMs, nowMs, intervalMs } = state;
  if (sent >= total || sent <= lastSent) return false;
  const tenth = (n: number): number => Math.floor((n * 10) / total);
  return tenth(sent) > tenth(lastSent) || nowMs - lastLoggedMs >= intervalMs;
}

/**
 * Creates the progress display of one run of `total` messages. `nowMs` is a monotonic clock
 * (ms) that the rate and elapsed time are measured with; `stream` is where the bar is drawn.
 */
export function createProgressReporter(options: {
  mode: ProgressMode;
  total: number;
  /** Progress and summary lines go here; give it the run's context (the topic). */
  logger: Logger;
  stream: NodeJS.WritableStream;
  nowMs: () => number;
  logIntervalMs?: number;
}): ProgressReporter {
  const { mode, total, logger, stream, nowMs } = options;
  const startMs = nowMs();
  if (mode === 'none') return { update: () => undefined, finish: () => undefined, close: () => undefined };

  if (mode === 'bar') {
    const bar = new SingleBar(
      {
        stream,
        format:
          'producing |{bar}| {percentage}% | {value}/{total} msgs | {rate} msg/s | elapsed {duration_formatted} | ETA {eta_formatted}',
        etaBuffer: 50,
        fps: 10,
      },
      Presets.shades_classic,
    );
    bar.start(total, 0, { rate: 0 });
    let active = true;
    const close = (): void => {
      // The bar redraws on a timer until stopped, which would also keep the process alive.
      if (active) bar.stop();
      active = false;
    };
    return {
      update(counts) {
        bar.update(counts.sent, { rate: ratePerSec(counts.sent, nowMs() - startMs) });
      },
      finish(summary) {
        close();
        stream.write(`${formatSummary(summary)}\n`);
      },
      close,
    };
  }

  const intervalMs = options.logIntervalMs ?? LOG_INTERVAL_MS;
  let lastSent = 0;
  let lastLoggedMs = startMs;
  return {
    update(counts) {
      const now = nowMs();
      if (!progressLogDue({ sent: counts.sent, total, lastSent, lastLoggedMs, nowMs: now, intervalMs })) return;
      lastSent = counts.sent;
      lastLoggedMs = now;
      const elapsedMs = now - startMs;
      logger.info(
        {
          sent: counts.sent,
          total,
          percent: Math.floor((counts.sent * 100) / total),
          ratePerSec: ratePerSec(counts.sent, elapsedMs),
          elapsedMs: Math.round(elapsedMs),
        },
        'producing',
      );
    },
    finish(summary) {
      const { topic: _topic, ...fields } = summary; // already in the logger's context
      logger.info(fields, summary.stoppedBy === null ? 'produced' : 'stopped early');
    },
    close: () => undefined,
  };
}
