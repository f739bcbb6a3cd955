import type { Logger as CronLogger } from 'node-cron';
import type { Logger } from '@clickstream/observability';

/**
 * node-cron's logger on the service's own: its warnings (a tick skipped while a run still goes, a
 * missed tick) and errors become JSON lines with `component: node-cron`. Its default logger prints
 * coloured text on the console, which breaks the one-JSON-object-per-line log contract.
 */
export function cronLogger(logger: Logger): CronLogger {
  const log = logger.child({ component: 'node-cron' });
  const withError = (level: 'error' | 'debug') => (message: string | Error, err?: Error) => {
    if (message instanceof Error) log[level]({ err: message }, message.message);
    else if (err === undefined) log[level](message);
    else log[level]({ err }, message);
  };
  return {
    info: (message) => log.info(message),
    warn: (message) => log.warn(message),
    error: withError('error'),
    debug: withError('debug'),
  };
}
