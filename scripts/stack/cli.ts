/**
 * `npm run stack:up | stack:down | stack:status [-- --nodes 3]`: see stack.ts. The node count
 * comes from `--nodes`, else STACK_NODES, else 1 for `up`; `status` shows the nodes of the
 * running topology unless told; `down` stops every node running from this state folder.
 */
import { parseCommandArguments } from '@clickstream/config';
import { parseNodeCount, stackDown, stackStatus, stackUp, stateDirOf } from './stack.ts';
import type { NodeCount } from './stack.ts';

const USAGE = 'usage: node scripts/stack/cli.ts up|down|status [--nodes 1|3]   (or STACK_NODES=3)';
const log = (line: string): void => console.log(`[stack] ${line}`);

/** The command and node count, or the reason and the usage on stderr and exit 2 (a wrong argument, not a failure of the stack). */
function parseCommand(): { command: string | undefined; nodes: NodeCount | undefined } {
  const { positionals, values } = parseCommandArguments({ nodes: { type: 'string' } }, USAGE);
  const requested = values.nodes ?? process.env.STACK_NODES;
  try {
    if (positionals.length > 1) throw new Error(`unexpected argument '${positionals[1]}'`);
    return { command: positionals[0], nodes: requested === undefined || requested === '' ? undefined : parseNodeCount(requested) };
  } catch (err) {
    console.error(`[stack] ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    process.exit(2);
  }
}

const { command, nodes } = parseCommand();
try {
  switch (command) {
    case 'up': {
      const began = Date.now();
      const abort = new AbortController();
      // Ctrl-C while starting: stop launching, stop what this call launched, then exit. Listened to
      // until then, not once: a second signal (Ctrl-C passed on by the launcher) would kill it first.
      for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => abort.abort());
      const started = await stackUp({ log, nodes: nodes ?? 1, signal: abort.signal });
      log(
        `up in ${Math.round((Date.now() - began) / 1000)} s (${started.length > 0 ? `started ${started.join(', ')}` : 'nothing new started'}); state in ${stateDirOf()}`,
      );
      break;
    }
    case 'down':
      await stackDown({ log });
      break;
    case 'status': {
      const status = await stackStatus({ nodes });
      for (const s of status) {
        console.log(
          `${s.name.padEnd(14)} ${s.answering ? 'up  ' : 'down'}  ${s.address.padEnd(24)} ${s.pid ? `pid ${s.pid}` : 'not started here'}  ${s.detail}`,
        );
      }
      process.exitCode = status.every((s) => s.answering) ? 0 : 3;
      break;
    }
    default:
      console.error(USAGE);
      process.exitCode = 2;
  }
} catch (err) {
  console.error(`[stack] ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
