/** `npm run stack:up | stack:down | stack:status`: see stack.ts. */
import { stackDown, stackStatus, stackUp, stateDirOf } from './stack.ts';

const command = process.argv[2];
const log = (line: string): void => console.log(`[stack] ${line}`);

try {
  switch (command) {
    case 'up': {
      const started = Date.now();
      const servers = await stackUp({ log });
      log(
        `up in ${Math.round((Date.now() - started) / 1000)} s (${servers.length > 0 ? `started ${servers.join(', ')}` : 'nothing new started'}); state in ${stateDirOf()}`,
      );
      break;
    }
    case 'down':
      await stackDown({ log });
      break;
    case 'status': {
      const status = await stackStatus();
      for (const s of status) {
        console.log(
          `${s.name.padEnd(14)} ${s.answering ? 'up  ' : 'down'}  ${s.address.padEnd(24)} ${s.pid ? `pid ${s.pid}` : 'not started here'}  ${s.detail}`,
        );
      }
      process.exitCode = status.every((s) => s.answering) ? 0 : 3;
      break;
    }
    default:
      console.error('usage: node scripts/stack/cli.ts up|down|status');
      process.exitCode = 2;
  }
} catch (err) {
  console.error(`[stack] ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
