/**
 * Prints the configuration tables of the README from the services' own zod schemas, so the
 * documentation cannot drift from the code: `node scripts/node24.mjs scripts/config-table.ts` prints them, and
 * test/docs/readme.test.ts fails when README.md does not contain exactly this text.
 */
import { z } from 'zod';
import { aggregatorEnvShape } from '../services/aggregator/src/config.ts';
import { dashboardEnvShape } from '../services/dashboard/src/config.ts';
import { ingestEnvShape } from '../services/ingest/src/config.ts';
import { producerEnvShape } from '../services/producer/src/config.ts';

/** The services whose environment variables the README documents, in README order. */
export const CONFIGURED_SERVICES: Readonly<Record<string, Record<string, z.ZodType>>> = {
  ingest: ingestEnvShape,
  aggregator: aggregatorEnvShape,
  producer: producerEnvShape,
  dashboard: dashboardEnvShape,
};

/** The default a variable takes when unset, as a user would write it (before a transform parses it). */
function defaultText(type: z.ZodType): string {
  const parsed = (type instanceof z.ZodPipe ? (type.in as z.ZodType) : type).safeParse(undefined);
  if (!parsed.success || parsed.data === undefined) return '(unset)';
  const value: unknown = parsed.data;
  return `\`${Array.isArray(value) ? value.join(',') : String(value)}\``;
}

/** The markdown table of one service's variables: name, default, description. */
export function configTable(shape: Record<string, z.ZodType>): string {
  const rows = Object.entries(shape).map(
    ([name, type]) => `| \`${name}\` | ${defaultText(type)} | ${(type.description ?? '').replaceAll('|', '\\|')} |`,
  );
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

if (import.meta.main) {
  for (const [service, shape] of Object.entries(CONFIGURED_SERVICES)) console.log(`#### ${service}\n\n${configTable(shape)}\n`);
}
