import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

/** Runs `npm run produce -- ...args` as a child process (no Kafka is reached by these cases). */
function produce(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the produce command, before it sends anything', () => {
  const badFlags: { when: string; args: string[]; message: RegExp }[] = [
    { when: 'an unknown flag', args: ['--cout', '5'], message: /Unknown option '--cout'/ },
    { when: 'a non-numeric count', args: ['--count', 'lots'], message: /--count must be a whole number \(got "lots"\)/ },
    { when: 'a ratio outside 0..1', args: ['--invalid-ratio', '2'], message: /--invalid-ratio must be between 0 and 1/ },
    { when: 'a rate of 0', args: ['--rate', '0'], message: /--rate must be greater than 0/ },
  ];
  for (const { when, args, message } of badFlags) {
    test(`when given ${when}, then it exits 2 with the error and the usage on stderr`, () => {
      const { status, stdout, stderr } = produce(args, { KAFKA_BROKERS: '127.0.0.1:1' });
      assert.equal(status, 2);
      assert.match(stderr, message);
      assert.match(stderr, /Usage: npm run produce -- \[options\]/);
      assert.equal(stdout, '');
    });
  }

  test('when asked for --help, then it prints the usage on stdout and exits 0', () => {
    const { status, stdout } = produce(['--help']);
    assert.equal(status, 0);
    assert.match(stdout, /^Usage: npm run produce -- \[options\]/);
  });

  test('when an environment variable is wrong, then it exits 1 naming the variable', () => {
    const { status, stderr } = produce(['--count', '1'], { KAFKA_TOPIC_PARTITIONS: 'three' });
    assert.equal(status, 1);
    assert.match(stderr, /KAFKA_TOPIC_PARTITIONS/);
  });

  test('when SASL is asked for without credentials, then it exits 1 naming the missing variables', () => {
    const { status, stderr } = produce(['--count', '1'], { KAFKA_SASL_MECHANISM: 'plain' });
    assert.equal(status, 1);
    assert.match(stderr, /KAFKA_SASL_USERNAME: required when KAFKA_SASL_MECHANISM is set; KAFKA_SASL_PASSWORD: required/);
  });

  test('when no broker answers, then it exits 1 quickly with one clear error line', () => {
    const startMs = Date.now();
    const { status, stdout } = produce(['--count', '10'], { KAFKA_BROKERS: '127.0.0.1:1' });
    assert.equal(status, 1);
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 1, stdout);
    const line = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    assert.equal(line.level, 'error');
    assert.equal(line.code, 'kafka_unavailable');
    assert.match(String(line.msg), /^cannot reach Kafka at 127\.0\.0\.1:1: .*ECONNREFUSED/);
    assert.ok(Date.now() - startMs < 10_000, 'fails fast instead of retrying for long');
  });
});
