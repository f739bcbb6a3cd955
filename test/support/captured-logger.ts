/** A logger whose JSON lines a unit test reads back (what an operator tailing the logs would see). */
import { Writable } from 'node:stream';
import { createLogger } from '@clickstream/observability';
import type { Logger, LogLevel } from '@clickstream/observability';

export function capturedLogger(options: { service?: string; level?: LogLevel } = {}): { lines: Record<string, unknown>[]; logger: Logger } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ service: options.service ?? 'test', level: options.level ?? 'info', destination }) };
}
