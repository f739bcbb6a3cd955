import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

/** What `/readyz` reports: ready, or not with a short reason. */
export type Readiness = { ready: true } | { ready: false; reason: string };

/** What `/healthz` reports: alive and making progress, or wedged (with a reason) so that the orchestrator restarts it. */
export interface Liveness {
  readonly healthy: boolean;
  readonly reason?: string;
}

/** Serves a request the ops endpoints do not (a service's own pages); returns false to answer 404. */
export type FallbackHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface OpsServer {
  /** The port actually bound (useful with port 0 in tests). */
  readonly port: number;
  close(): Promise<void>;
}

const OPS_PATHS = new Set(['/healthz', '/readyz', '/metrics']);
/** Request line and headers, at most. */
const MAX_REQUEST_HEAD_BYTES = 64 * 1024;

/** The methods every read-only route answers (the `allow` header of a 405). Node sends no body for HEAD. */
export const READ_METHODS = 'GET, HEAD';

/** Whether a request only reads: GET, or HEAD (uptime checks), which gets GET's status and headers. */
export function isReadMethod(method: string | undefined): boolean {
  return method === 'GET' || method === 'HEAD';
}

/**
 * Starts the operations HTTP endpoint of a service (GET, or HEAD without the body): `GET /healthz` (200 while `liveness()` says
 * healthy, else 503 with the reason; 200 when no liveness is given), `GET /readyz` (200 when
 * `readiness()` says ready, else 503 with the reason) and `GET /metrics` (Prometheus text format).
 * Any other request goes to `fallback()` when given (404 otherwise). Binds all interfaces so an
 * orchestrator can probe it.
 */
export async function startOpsServer(options: {
  port: number;
  host?: string;
  registry: Registry;
  readiness: () => Readiness;
  liveness?: () => Liveness;
  fallback?: () => FallbackHandler | undefined;
  logger: Logger;
}): Promise<OpsServer> {
  const { registry, readiness, logger } = options;
  // Room for the dashboard's url filter: the longest url_key (24,576 characters) percent-encoded
  // again in the query is ~41,000. Node's default is 16 KiB.
  const server: Server = createServer({ maxHeaderSize: MAX_REQUEST_HEAD_BYTES }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (!OPS_PATHS.has(path)) {
      if (options.fallback?.()?.(req, res) !== true) res.writeHead(404).end();
    } else if (!isReadMethod(req.method)) {
      res.writeHead(405, { allow: READ_METHODS }).end();
    } else if (path === '/healthz') {
      const state = options.liveness?.() ?? { healthy: true };
      res.writeHead(state.healthy ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify(state.healthy ? { status: 'ok' } : { status: 'unhealthy', reason: state.reason ?? 'unhealthy' }));
    } else if (path === '/readyz') {
      const state = readiness();
      res.writeHead(state.ready ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify(state.ready ? { status: 'ready' } : { status: 'not_ready', reason: state.reason }));
    } else {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: unknown) => {
          logger.error({ err }, 'metrics rendering failed');
          res.writeHead(500).end();
        },
      );
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port }, 'ops endpoint listening (/healthz, /readyz, /metrics)');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
