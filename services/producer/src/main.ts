import { ConfigError } from '@clickstream/config';
import { createLogger } from '@clickstream/observability';
import { runProducer } from './run-producer.ts';
import { USAGE, parseCliArgs } from './cli-args.ts';
import { loadProducerConfig } from './config.ts';
import type { ProducerConfig } from './config.ts';
import { KafkaRefusedError, KafkaUnavailableError } from './producer-errors.ts';

export { parseCliArgs, USAGE } from './cli-args.ts';
export type { ProducerRunOptions } from './cli-args.ts';
export { loadProducerConfig } from './config.ts';
export type { ProducerConfig } from './config.ts';
export { KafkaRefusedError, KafkaSendError, KafkaUnavailableError } from './producer-errors.ts';
export type { ProgressMode } from './progress.ts';
export type { MessageCounts, ProducerSummary } from './producer-summary.ts';
export { runProducer } from './run-producer.ts';
export type { RunProducerOptions } from './run-producer.ts';

const EXIT_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * The `npm run produce` command. Resolves with the exit code: 0 done, 1 configuration or Kafka
 * failure, 2 bad flags, 130/143 stopped by SIGINT/SIGTERM (after the batch in flight).
 */
async function main(argv: readonly string[], env: Record<string, string | undefined>): Promise<number> {
  const parsed = parseCliArgs(argv, Date.now());
  if (parsed.kind === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (parsed.kind === 'error') {
    process.stderr.write(`produce: ${parsed.message}\n\n${USAGE}\n`);
    return 2;
  }
  let config: ProducerConfig;
  try {
    config = loadProducerConfig(env);
  } catch (err) {
    // No logger yet: LOG_LEVEL itself may be the wrong variable.
    if (err instanceof ConfigError) {
      process.stderr.write(`produce: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const logger = createLogger({ service: 'producer', level: config.LOG_LEVEL });

  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(EXIT_CODES[signal] ?? 1); // a second Ctrl-C: do not wait
    logger.warn({ signal }, 'stopping after the batch in flight');
    controller.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await runProducer({ run: parsed.options, config, logger, signal: controller.signal });
    return summary.stoppedBy === null ? 0 : (EXIT_CODES[summary.stoppedBy] ?? 1);
  } catch (err) {
    if (err instanceof KafkaUnavailableError || err instanceof KafkaRefusedError) {
      // An expected condition with a clear message: no stack trace.
      logger.error({ code: err.code, brokers: err.brokers }, err.message);
    } else {
      logger.error({ err }, err instanceof Error ? err.message : 'producer failed');
    }
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2), process.env);
}
