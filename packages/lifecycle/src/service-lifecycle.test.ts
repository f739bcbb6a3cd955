import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { ConfigError, httpEnv, loggingEnv, parseConfig, positiveInt } from '@clickstream/config';
import type { Liveness, Readiness } from '@clickstream/observability';
import { capturedLogger } from '../../../test/support/captured-logger.ts';
import { runService } from './run-service.ts';
import { startService } from './service-lifecycle.ts';
import type { ServiceContext, ServiceDefinition } from './service-lifecycle.ts';

const schema = z.object({ ...loggingEnv, ...httpEnv(0), SHUTDOWN_MS: positiveInt(200) });
type FakeConfig = Readonly<z.output<typeof schema>>;
const env = { HTTP_PORT: '0', LOG_LEVEL: 'info' };

/** A service whose start runs `body` with the lifecycle's context; it records what stopping did. */
function fakeService(body: (context: ServiceContext<FakeConfig>, calls: string[]) => Promise<void> | void = () => undefined) {
  const calls: string[] = [];
  const definition: ServiceDefinition<FakeConfig, { calls: string[] }> = {
    name: 'fake',
    loadConfig: (environment) => parseConfig(schema, environment),
    shutdownTimeoutMs: (config) => config.SHUTDOWN_MS,
    start: async (context) => {
      await body(context, calls);
      return { calls };
    },
  };
  return { definition, calls };
}

const get = async (port: number, path: string): Promise<{ status: number; body: unknown }> => {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.json() };
};
const never = (): Promise<void> => new Promise<void>(() => undefined);

describe('startService', () => {
  test('when started, then it goes starting -> running -> stopping -> stopped, not ready until running nor while stopping', async () => {
    const { logger } = capturedLogger();
    const seen: { state: string; readyz: number }[] = [];
    let port = 0;
    const { definition } = fakeService(({ onDrain }) => {
      onDrain('probe', async () => {
        seen.push({ state: service.state(), readyz: (await get(port, '/readyz')).status });
      });
    });
    const service = await startService(definition, env, { logger });
    port = service.httpPort;
    assert.equal(service.state(), 'running');
    assert.deepEqual(await get(port, '/readyz'), { status: 200, body: { status: 'ready' } });
    assert.equal((await get(port, '/healthz')).status, 200);
    await service.stop();
    assert.deepEqual(seen, [{ state: 'stopping', readyz: 503 }]);
    assert.equal(service.state(), 'stopped');
    assert.equal(await service.stopped, 0);
  });

  test('while start is still going, then /readyz answers 503 "starting" and /healthz 200', async () => {
    let release!: () => void;
    const { definition } = fakeService(async ({ serveHttp }) => {
      serveHttp(() => false);
      await new Promise<void>((resolve) => (release = resolve));
    });
    // The port is only known from the log line the ops server writes.
    const { lines, logger: watched } = capturedLogger();
    const starting = startService(definition, env, { logger: watched });
    while (!lines.some((l) => typeof l.port === 'number')) await new Promise((r) => setImmediate(r));
    const observedPort = lines.find((l) => typeof l.port === 'number')?.port as number;
    assert.deepEqual(await get(observedPort, '/readyz'), { status: 503, body: { status: 'not_ready', reason: 'starting' } });
    assert.equal((await get(observedPort, '/healthz')).status, 200);
    release();
    const service = await starting;
    await service.stop();
  });

  test('when a readiness check says not ready, then /readyz is 503 with its reason, and 200 again once it recovers', async () => {
    const { logger } = capturedLogger();
    let state: Readiness = { ready: false, reason: 'writes failing' };
    const { definition } = fakeService(({ addReadinessCheck }) => addReadinessCheck(() => state));
    const service = await startService(definition, env, { logger });
    assert.deepEqual(await get(service.httpPort, '/readyz'), { status: 503, body: { status: 'not_ready', reason: 'writes failing' } });
    state = { ready: true };
    assert.equal((await get(service.httpPort, '/readyz')).status, 200);
    await service.stop();
  });

  test('when a liveness check says unhealthy, then /healthz is 503 with its reason', async () => {
    const { logger } = capturedLogger();
    let state: Liveness = { healthy: true };
    const { definition } = fakeService(({ addLivenessCheck }) => {
      addLivenessCheck(() => ({ healthy: true }));
      addLivenessCheck(() => state);
    });
    const service = await startService(definition, env, { logger });
    assert.equal((await get(service.httpPort, '/healthz')).status, 200);
    state = { healthy: false, reason: 'no progress while lag > 0' };
    assert.deepEqual(await get(service.httpPort, '/healthz'), {
      status: 503,
      body: { status: 'unhealthy', reason: 'no progress while lag > 0' },
    });
    await service.stop();
  });

  test('when a drain does not finish within the deadline, then its onTimeout runs and the resources still close', async () => {
    const { logger, lines } = capturedLogger();
    const { definition, calls } = fakeService(({ onDrain, onClose }, record) => {
      onDrain('consumer', never, () => void record.push('abandoned'));
      onClose('client', () => void record.push('closed'));
    });
    const service = await startService(definition, { ...env, SHUTDOWN_MS: '50' }, { logger });
    await service.stop();
    assert.deepEqual(calls, ['abandoned', 'closed']);
    assert.equal(await service.stopped, 0);
    assert.ok(lines.some((l) => l.msg === 'shutdown deadline passed: abandoning the work in flight' && l.timeoutMs === 50));
  });

  test('when a drain or a close rejects, then the other steps still run, the error is logged, and stop resolves', async () => {
    const { logger, lines } = capturedLogger();
    const { definition, calls } = fakeService(({ onDrain, onClose }, record) => {
      onDrain('first', () => Promise.reject(new Error('consumer.stop failed')));
      onDrain('second', () => void record.push('second drained'));
      onClose('a', () => Promise.reject(new Error('disconnect failed')));
      onClose('b', () => void record.push('b closed'));
    });
    const service = await startService(definition, env, { logger });
    await service.stop();
    assert.deepEqual(calls, ['second drained', 'b closed']);
    assert.deepEqual(
      lines.filter((l) => l.level === 'error').map((l) => l.step),
      ['first', 'a'],
    );
    assert.equal(service.state(), 'stopped');
  });

  test('when a close never finishes, then stopping leaves it after the close deadline', async () => {
    const { logger, lines } = capturedLogger();
    const { definition } = fakeService(({ onClose }) => onClose('hung', never));
    const service = await startService(definition, env, { logger, closeTimeoutMs: 30 });
    await service.stop();
    assert.ok(lines.some((l) => l.step === 'hung' && l.level === 'warn'));
  });

  test('when stop is called twice, then the steps run once', async () => {
    const { logger } = capturedLogger();
    const { definition, calls } = fakeService(({ onClose }, record) => onClose('client', () => void record.push('closed')));
    const service = await startService(definition, env, { logger });
    await Promise.all([service.stop(), service.stop()]);
    assert.deepEqual(calls, ['closed']);
  });

  test('when the service fails while running, then it stops by itself with exit code 1', async () => {
    const { logger, lines } = capturedLogger();
    let context!: ServiceContext<FakeConfig>;
    const { definition, calls } = fakeService((c, record) => {
      context = c;
      c.onClose('client', () => void record.push('closed'));
    });
    const service = await startService(definition, env, { logger });
    context.fail(new Error('retries exhausted'), 'cannot continue');
    assert.equal(await service.stopped, 1);
    assert.deepEqual(calls, ['closed']);
    assert.ok(lines.some((l) => l.level === 'fatal' && l.msg === 'cannot continue'));
  });

  test('when the caller stops the service with an exit code (its own work failed), then "stopped" and `stopped` say that code', async () => {
    const { logger, lines } = capturedLogger();
    const { definition } = fakeService(() => undefined);
    const service = await startService(definition, env, { logger });
    await service.stop(1);
    assert.equal(await service.stopped, 1);
    assert.deepEqual(
      lines.filter((l) => l.msg === 'stopped').map((l) => l.exitCode),
      [1],
    );
  });

  test('when start throws, then what it registered is closed, the error is rethrown and "stopped" says exit code 1', async () => {
    const { logger, lines } = capturedLogger();
    const { definition, calls } = fakeService(({ onClose }, record) => {
      onClose('client', () => void record.push('closed'));
      throw new Error('no broker answers');
    });
    await assert.rejects(startService(definition, env, { logger }), /no broker answers/);
    assert.deepEqual(calls, ['closed']);
    assert.deepEqual(
      lines.filter((l) => l.msg === 'stopped').map((l) => l.exitCode),
      [1],
    );
  });

  test('when the service fails during start, then start rejects with that error after closing', async () => {
    const { logger } = capturedLogger();
    const { definition, calls } = fakeService(({ onClose, fail }, record) => {
      onClose('client', () => void record.push('closed'));
      fail(new Error('consumer crashed'), 'cannot continue');
    });
    await assert.rejects(startService(definition, env, { logger }), /consumer crashed/);
    assert.deepEqual(calls, ['closed']);
  });

  test('when the configuration is wrong, then it throws ConfigError before opening anything', async () => {
    const { definition } = fakeService();
    await assert.rejects(startService(definition, { HTTP_PORT: 'eighty' }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.variables, ['HTTP_PORT']);
      return true;
    });
  });

  test('when another path is asked for, then the service handler serves it, and the ops paths stay the lifecycle’s', async () => {
    const { logger } = capturedLogger();
    const { definition } = fakeService(({ serveHttp }) =>
      serveHttp((req, res) => {
        if (req.url !== '/') return false;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"page":true}');
        return true;
      }),
    );
    const service = await startService(definition, env, { logger });
    assert.deepEqual(await get(service.httpPort, '/'), { status: 200, body: { page: true } });
    assert.equal((await fetch(`http://127.0.0.1:${service.httpPort}/nothing`)).status, 404);
    assert.equal((await get(service.httpPort, '/readyz')).status, 200);
    const metrics = await (await fetch(`http://127.0.0.1:${service.httpPort}/metrics`)).text();
    assert.match(metrics, /process_cpu_user_seconds_total\{app="fake"\}/);
    await service.stop();
  });
});

describe('runService (the process around a service)', () => {
  test('when the configuration is wrong, then it logs one JSON line naming the variable and resolves 1', async () => {
    const { logger, lines } = capturedLogger();
    const { definition } = fakeService();
    assert.equal(await runService(definition, { env: { HTTP_PORT: '-1' }, logger, signals: new EventEmitter() }), 1);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.level, 'fatal');
    assert.deepEqual(lines[0]?.variables, ['HTTP_PORT']);
    assert.match(String(lines[0]?.msg), /HTTP_PORT/);
  });

  test('when start fails, then it logs the error as JSON and resolves 1', async () => {
    const { logger, lines } = capturedLogger();
    const { definition } = fakeService(() => {
      throw new Error('keyspace cannot be created');
    });
    assert.equal(await runService(definition, { env, logger, signals: new EventEmitter() }), 1);
    const fatal = lines.filter((l) => l.level === 'fatal');
    assert.equal(fatal.length, 1);
    assert.equal(fatal[0]?.msg, 'fake failed to start');
    assert.match(JSON.stringify(fatal[0]?.err), /keyspace cannot be created/);
  });

  test('when SIGTERM arrives, then it stops the service and resolves 0; its signal listeners are removed', async () => {
    const { logger } = capturedLogger();
    const signals = new EventEmitter();
    const { definition, calls } = fakeService(({ onClose }, record) => {
      onClose('client', () => void record.push('closed'));
      setImmediate(() => signals.emit('SIGTERM'));
    });
    assert.equal(await runService(definition, { env, logger, signals }), 0);
    assert.deepEqual(calls, ['closed']);
    assert.equal(signals.listenerCount('SIGTERM') + signals.listenerCount('SIGINT'), 0);
  });

  test('when SIGTERM arrives while it is still starting, then it stops once started and resolves 0, not killed by the signal', async () => {
    // An orchestrator stops a replica whenever it likes: a rolling update can catch one still
    // connecting. Without a listener yet, the signal's default action killed the process.
    const { logger } = capturedLogger();
    const signals = new EventEmitter();
    let finishStart = (): void => undefined;
    let starting = (): void => undefined;
    const reached = new Promise<void>((resolve) => (starting = resolve));
    const { definition, calls } = fakeService(async ({ onClose }, record) => {
      onClose('client', () => void record.push('closed'));
      starting();
      await new Promise<void>((resolve) => (finishStart = resolve));
      record.push('started');
    });
    const exit = runService(definition, { env, logger, signals });
    await reached;
    const listening = signals.listenerCount('SIGTERM');
    signals.emit('SIGTERM');
    finishStart();
    if (listening === 0) {
      // The signal was lost: stop the service once it listens, so that the failure below ends the test.
      while (signals.listenerCount('SIGTERM') === 0) await new Promise((resolve) => setImmediate(resolve));
      signals.emit('SIGTERM');
      await exit;
    }
    assert.equal(listening, 1, 'a SIGTERM listener while starting');
    assert.equal(await exit, 0);
    assert.deepEqual(calls, ['started', 'closed']);
    assert.equal(signals.listenerCount('SIGTERM') + signals.listenerCount('SIGINT'), 0);
  });

  test('when a second signal arrives while it stops (Ctrl-C reaches the process and its launcher passes it on), then it is handled too, and the service stops once', async () => {
    // A signal without a listener takes its default action: the process dies mid-drain.
    const { logger } = capturedLogger();
    const signals = new EventEmitter();
    let listeningWhileStopping = -1;
    const { definition, calls } = fakeService(({ onClose }, record) => {
      onClose('client', async () => {
        listeningWhileStopping = signals.listenerCount('SIGINT');
        signals.emit('SIGINT');
        signals.emit('SIGTERM');
        await new Promise((resolve) => setImmediate(resolve));
        record.push('closed');
      });
      setImmediate(() => signals.emit('SIGINT'));
    });
    assert.equal(await runService(definition, { env, logger, signals }), 0);
    assert.equal(listeningWhileStopping, 1, 'a SIGINT listener while stopping');
    assert.deepEqual(calls, ['closed']);
    assert.equal(signals.listenerCount('SIGTERM') + signals.listenerCount('SIGINT'), 0);
  });

  test('when the service fails while running, then it resolves 1', async () => {
    const { logger } = capturedLogger();
    const { definition } = fakeService(({ fail }) => void setImmediate(() => fail(new Error('crash'), 'cannot continue')));
    assert.equal(await runService(definition, { env, logger, signals: new EventEmitter() }), 1);
  });

  test('when a run function is given, then its code is the exit code', async () => {
    const { logger } = capturedLogger();
    const { definition } = fakeService();
    const code = await runService(definition, {
      env,
      logger,
      signals: new EventEmitter(),
      run: async (service) => {
        await service.stop();
        return 3;
      },
    });
    assert.equal(code, 3);
  });
});
