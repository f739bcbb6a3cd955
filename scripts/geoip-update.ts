/**
 * `npm run geoip:update`: refreshes the geo database with geoip-lite's own updater, which
 * downloads the GeoLite2 City and Country CSVs from MaxMind and converts them. Needs a MaxMind
 * licence key (free account) in MAXMIND_LICENSE_KEY; writes to GEODATADIR when set, else to
 * geoip-lite's own data folder. Restart ingest afterwards: it loads the database at start.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseCommandLine } from '@clickstream/config';

parseCommandLine({}, 'usage: MAXMIND_LICENSE_KEY=<key> npm run geoip:update   (no arguments; GEODATADIR picks the folder)');

const key = process.env.MAXMIND_LICENSE_KEY ?? '';
if (!/^[A-Za-z0-9_]+$/.test(key)) {
  console.error(
    [
      'geoip:update: MAXMIND_LICENSE_KEY is not set (or not a licence key).',
      'The GeoLite2 data needs a free MaxMind account: sign up, create a licence key, then run',
      '  MAXMIND_LICENSE_KEY=<your key> npm run geoip:update',
      'Set GEODATADIR to write the database to another folder (ingest reads the same variable).',
    ].join('\n'),
  );
  process.exit(1);
}

const updater = join(dirname(createRequire(import.meta.url).resolve('geoip-lite/package.json')), 'scripts', 'updatedb.js');
// The key goes through the environment (geoip-lite's LICENSE_KEY), never on a command line.
const result = spawnSync(process.execPath, [updater], {
  stdio: 'inherit',
  env: { ...process.env, LICENSE_KEY: key },
});
process.exitCode = result.status ?? 1;
