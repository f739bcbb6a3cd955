import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

/** What `/readyz` reports: ready, or not with a short reason. */
export type Readiness = { ready: true } | { ready: false; reason: string };

export interface OpsServer {
  /** The port actually bound (useful with port 0 in tests). */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Starts the operations HTTP endpoint of a service: `GET /healthz` (200 while the process runs),
 * `GET /readyz` (200 when `readiness()` says ready, else 503 with the reason) and `GET /metrics`
 * (Prometheus text format). Binds all interfaces so an orchestrator can probe it. A service that
 * serves more on the same port (the dashboard) passes `handle` for the other GET paths.
 */
export async function startOpsServer(options: {
  port: number;
  host?: string;
  registry: Registry;
  readiness: () => Readiness;
  logger: Logger;
  handle?: (req: IncomingMessage, res: ServerResponse) => void;
}): Promise<OpsServer> {
  const { registry, readiness, logger, handle } = options;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else if (path === '/readyz') {
      const state = readiness();
      res.writeHead(state.ready ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify(state.ready ? { status: 'ready' } : { status: 'not_ready', reason: state.reason }));
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: unknown) => {
          logger.error({ err }, 'metrics rendering failed');
          res.writeHead(500).end();
        },
      );
    } else if (handle) {
      handle(req, res);
    } else {
      res.writeHead(404).end();
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
