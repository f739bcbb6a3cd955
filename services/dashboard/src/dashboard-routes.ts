import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { READ_METHODS, isReadMethod } from '@clickstream/observability';
import type { Counter, FallbackHandler } from '@clickstream/observability';
import type { DashboardApi } from './dashboard-api.ts';

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

const PUBLIC_DIR = join(import.meta.dirname, '..', 'public');

/**
 * The files the page needs, by URL path: a fixed table read once at start (nothing else on disk
 * can be asked for, and a missing file stops the service at start rather than at the first visit).
 * The charting library is served from node_modules, so the page works offline.
 */
export function loadAssets(): ReadonlyMap<string, Asset> {
  const vendor = (file: string): string => fileURLToPath(import.meta.resolve(`uplot/dist/${file}`));
  const files: [string, string, string][] = [
    ['/', join(PUBLIC_DIR, 'index.html'), 'text/html; charset=utf-8'],
    ['/app.js', join(PUBLIC_DIR, 'app.js'), 'text/javascript; charset=utf-8'],
    ['/style.css', join(PUBLIC_DIR, 'style.css'), 'text/css; charset=utf-8'],
    ['/vendor/uPlot.esm.js', vendor('uPlot.esm.js'), 'text/javascript; charset=utf-8'],
    ['/vendor/uPlot.min.css', vendor('uPlot.min.css'), 'text/css; charset=utf-8'],
  ];
  return new Map(files.map(([path, file, type]) => [path, { type, body: readFileSync(file) }]));
}

// Everything comes from this origin; the page runs no inline script or style.
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * The request handler of the page and its API (the lifecycle answers the ops endpoints first):
 * the static assets and `GET /api/*` as JSON (never cached), HEAD as GET without the body; other methods 405; returns false for
 * any other path (the ops server answers 404).
 */
export function createDashboardHandler(deps: {
  assets: ReadonlyMap<string, Asset>;
  api: DashboardApi;
  requests: Counter;
}): FallbackHandler {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const raw = req.url ?? '/';
    const queryAt = raw.indexOf('?');
    const path = queryAt === -1 ? raw : raw.slice(0, queryAt);
    const asset = deps.assets.get(path);
    if (asset === undefined && !deps.api.paths.has(path)) {
      deps.requests.inc({ route: 'other', status: 404 });
      return false;
    }
    if (!isReadMethod(req.method)) {
      deps.requests.inc({ route: asset ? 'asset' : path, status: 405 });
      res.writeHead(405, { ...SECURITY_HEADERS, allow: READ_METHODS }).end();
      return true;
    }
    if (asset !== undefined) {
      deps.requests.inc({ route: 'asset', status: 200 });
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': asset.type, 'cache-control': 'no-cache' }).end(asset.body);
      return true;
    }
    void deps.api.answer(path, queryAt === -1 ? '' : raw.slice(queryAt + 1)).then((response) => {
      deps.requests.inc({ route: path, status: response.status });
      res
        .writeHead(response.status, {
          ...SECURITY_HEADERS,
          'content-type': 'application/json; charset=utf-8',
          'cache-control': 'no-store',
          ...(response.retryAfterSeconds === undefined ? {} : { 'retry-after': String(response.retryAfterSeconds) }),
        })
        .end(JSON.stringify(response.body));
    });
    return true;
  };
}
