import { parseArgs } from 'node:util';
import type { ParseArgsOptionsConfig } from 'node:util';

/**
 * A command's options from its arguments (strict: no unknown option, no positional argument), or,
 * when they are wrong, the reason and `usage` on stderr and exit 2: a typo must not run something
 * else (`--onc` starting the service instead of one pass), nor print a stack trace.
 */
export function parseCommandLine<O extends ParseArgsOptionsConfig>(options: O, usage: string, args: string[] = process.argv.slice(2)) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${usage}\n`);
    process.exit(2);
  }
}
