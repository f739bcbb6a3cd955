import { parseArgs } from 'node:util';
import type { ParseArgsOptionsConfig } from 'node:util';

/** `parseArgs` (strict), or, when the arguments are wrong, the reason and `usage` on stderr and exit 2. */
function parseOrExit<O extends ParseArgsOptionsConfig, P extends boolean>(options: O, usage: string, args: string[], allowPositionals: P) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${usage}\n`);
    process.exit(2);
  }
}

/**
 * A command's options from its arguments (strict: no unknown option, no positional argument), or,
 * when they are wrong, the reason and `usage` on stderr and exit 2: a typo must not run something
 * else (`--onc` starting the service instead of one pass), nor print a stack trace.
 */
export function parseCommandLine<O extends ParseArgsOptionsConfig>(options: O, usage: string, args: string[] = process.argv.slice(2)) {
  return parseOrExit(options, usage, args, false).values;
}

/** As {@link parseCommandLine}, for a command that also takes positional arguments (a subcommand, file filters). */
export function parseCommandArguments<O extends ParseArgsOptionsConfig>(options: O, usage: string, args: string[] = process.argv.slice(2)) {
  const { values, positionals } = parseOrExit(options, usage, args, true);
  return { values, positionals };
}
