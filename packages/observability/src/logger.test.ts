import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from './logger.ts';

/** Logs one line through a real root logger and returns it, raw and parsed. */
function logOnce(write: (logger: ReturnType<typeof createLogger>) => void): { raw: string; line: Record<string, unknown> } {
  const destination = new PassThrough();
  const chunks: Buffer[] = [];
  destination.on('data', (chunk: Buffer) => chunks.push(chunk));
  write(createLogger({ service: 'test', level: 'info', destination }));
  const raw = Buffer.concat(chunks).toString('utf8').trim();
  return { raw, line: JSON.parse(raw) as Record<string, unknown> };
}

test('when an error carrying a whole request is logged, then its line stays short and keeps what an operator reads', () => {
  // The shape of @elastic/elasticsearch's ResponseError after a refused bulk: its `meta` holds the
  // answer, the request with its body (up to the bulk size) and the connection object.
  const connection: Record<string, unknown> = { url: 'http://es:9200/', pool: { sockets: Array.from({ length: 500 }, (_, i) => ({ i })) } };
  connection.self = connection;
  const err = Object.assign(new Error('bulk refused'), {
    code: 'es_bulk_refused',
    meta: {
      body: { error: { reason: 'x'.repeat(1_000_000) } },
      statusCode: 413,
      meta: {
        request: {
          params: { method: 'POST', path: '/_bulk', body: Array.from({ length: 5_000 }, (_, i) => ({ doc: i, text: 'y'.repeat(200) })) },
        },
        connection,
        attempts: 0,
      },
      warnings: Buffer.alloc(100_000),
    },
  });
  const { raw, line } = logOnce((logger) => logger.error({ err }, 'bulk failed'));
  assert.ok(raw.length < 16_384, `one line of ${raw.length} characters`);
  const logged = line.err as Record<string, unknown>;
  assert.equal(logged.message, 'bulk refused');
  assert.equal(logged.code, 'es_bulk_refused');
  assert.match(String(logged.stack), /^Error: bulk refused\n {4}at /);
  const meta = logged.meta as { statusCode: number; meta: { request: { params: { method: string; path: string } } } };
  assert.equal(meta.statusCode, 413);
  assert.equal(meta.meta.request.params.path, '/_bulk');
});

test("when an ordinary error is logged, then it is logged as pino's own serializer gives it, its cause included", () => {
  const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9042'), { code: 'ECONNREFUSED' });
  const err = Object.assign(new Error('All host(s) tried for query failed', { cause }), { code: 'NoHostAvailable' });
  const { line } = logOnce((logger) => logger.warn({ err, attempt: 2 }, 'retrying'));
  const logged = line.err as { type: string; message: string; stack: string; code: string };
  assert.equal(logged.type, 'Error');
  assert.equal(logged.code, 'NoHostAvailable');
  assert.equal(logged.message, 'All host(s) tried for query failed: connect ECONNREFUSED 127.0.0.1:9042');
  assert.match(logged.stack, /^Error: All host\(s\) tried for query failed\n[\s\S]*caused by: Error: connect ECONNREFUSED/);
  assert.equal(line.attempt, 2);
});

test('when an error wraps a cause of the same message, then the message says it once and the stack still names the cause', () => {
  // The stores' transient errors keep the driver's message: "Socket was closed: Socket was closed" before.
  const cause = new Error('Socket was closed');
  const unavailable = new Error('Socket was closed', { cause });
  const exhausted = new Error('write events failed after 8 attempts', { cause: unavailable });
  const { line } = logOnce((logger) => logger.error({ err: exhausted }, 'giving up'));
  const logged = line.err as { message: string; stack: string };
  assert.equal(logged.message, 'write events failed after 8 attempts: Socket was closed');
  assert.equal(logged.stack.match(/caused by: Error: Socket was closed/g)?.length, 2);
});

test('when causes form a cycle, or a cause is not an Error, then the line is still written, each message once', () => {
  const first = new Error('first');
  const second = new Error('second', { cause: first });
  Object.assign(first, { cause: second });
  const { line } = logOnce((logger) => logger.error({ err: first }, 'cyclic'));
  assert.equal((line.err as { message: string }).message, 'first: second');
  const plain = new Error('wrapper', { cause: { message: 'from a plain object' } });
  const { line: withPlain } = logOnce((logger) => logger.error({ err: plain }, 'plain cause'));
  assert.equal((withPlain.err as { message: string }).message, 'wrapper: from a plain object');
});

test('when a logged object names a password, then it is redacted', () => {
  const { raw } = logOnce((logger) => logger.info({ connection: { password: 'hunter2', user: 'u' } }, 'connecting'));
  assert.doesNotMatch(raw, /hunter2/);
});
