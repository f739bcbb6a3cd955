/**
 * A node that exits before answering is started again only when its log says the reason is one
 * another start gets past, and at most START_ATTEMPTS times (fake nodes: no server is started).
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { START_ATTEMPTS, bringUp } from './stack.ts';
import type { StackNode } from './topology.ts';

const scratch = mkdtempSync(join(tmpdir(), 'stack-start-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A node whose starts exit with the given log lines, one per start, until they run out: then it answers. */
function fakeNode(name: string, exits: string[]): StackNode & { starts: number } {
  const logFile = join(scratch, `${name}.log`);
  const pidFile = join(scratch, `${name}.pid`);
  writeFileSync(logFile, 'an earlier run: Unable to contact any seeds\n');
  let answering = false;
  const node = {
    name,
    server: 'cassandra' as const,
    address: '127.0.0.1:1',
    pidFile,
    logsDir: scratch,
    startTimeoutMs: 10_000,
    transientExit: { logFile, pattern: /Unable to contact any seeds/, why: 'its seed did not answer gossip in time' },
    starts: 0,
    start() {
      node.starts += 1;
      const exit = exits[node.starts - 1];
      // No process of that id: the start has exited.
      writeFileSync(pidFile, '2147483646');
      if (exit === undefined) answering = true;
      else appendFileSync(logFile, `${exit}\n`);
      return Promise.resolve();
    },
    probe: () => (answering ? Promise.resolve('up') : Promise.reject(new Error('connection refused'))),
  };
  return node;
}

test('when a start exits because its seed did not answer, then the node is started again and comes up', async () => {
  const node = fakeNode('seedless-once', ['java.lang.IllegalStateException: Unable to contact any seeds: [/127.0.0.1:7000]']);
  const lines: string[] = [];
  const started: string[] = [];
  await bringUp(node, { log: (line) => lines.push(line) }, started);
  assert.equal(node.starts, 2);
  assert.deepEqual(started, ['seedless-once']);
  assert.ok(lines.some((line) => line.includes(`starting it again (start 2 of ${START_ATTEMPTS})`)));
});

test('when a start exits for another reason, then it is not started again, even with the pattern in an earlier run of the log', async () => {
  const node = fakeNode('bad-config', ['Exception encountered during startup: Invalid yaml']);
  await assert.rejects(bringUp(node, { log: () => undefined }, []), /bad-config: the process exited before answering/);
  assert.equal(node.starts, 1);
});

test('when every start exits because its seed did not answer, then it gives up after START_ATTEMPTS starts', async () => {
  const node = fakeNode(
    'seedless',
    Array.from({ length: START_ATTEMPTS + 2 }, () => 'Unable to contact any seeds'),
  );
  await assert.rejects(bringUp(node, { log: () => undefined }, []), /seedless: the process exited before answering/);
  assert.equal(node.starts, START_ATTEMPTS);
});
