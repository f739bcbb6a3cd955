import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LOCAL_SERVERS_HINT, localServersHint } from './local-servers-hint.ts';

/** A system error as Node raises it for a refused connection. */
function refused(address: string, port: number): Error {
  return Object.assign(new Error(`connect ECONNREFUSED ${address}:${port}`), {
    code: 'ECONNREFUSED',
    errno: -111,
    syscall: 'connect',
    address,
    port,
  });
}

const cycle = new Error('a cycle');
Object.assign(cycle, { cause: cycle });

await test('the local servers hint', async (t) => {
  const cases: [name: string, err: unknown, hinted: boolean][] = [
    [
      "Cassandra's connect error, every host on loopback",
      new Error('every Cassandra host tried failed (127.0.0.1:9042: connect ECONNREFUSED 127.0.0.1:9042)'),
      true,
    ],
    ['a system error on 127.0.0.1', refused('127.0.0.1', 9200), true],
    ['a system error on ::1', refused('::1', 9092), true],
    ['the refusal as the cause of a client error', new Error('Connection error', { cause: refused('127.0.0.1', 9092) }), true],
    ['one of an AggregateError', new AggregateError([new Error('timeout'), refused('127.0.0.1', 9042)], 'the hosts tried'), true],
    ['a remote host refusing', refused('10.0.0.5', 9042), false],
    ['a remote host in a message', new Error('connect ECONNREFUSED 10.1.2.3:9092'), false],
    ['a host name that only starts like loopback', new Error('connect ECONNREFUSED 127.0.0.1.example.net:9092'), false],
    ['another failure on loopback', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', address: '127.0.0.1' }), false],
    ['a cause that is itself', cycle, false],
    ['not an error', 'ECONNREFUSED 127.0.0.1:9042', false],
    ['nothing', undefined, false],
  ];
  for (const [name, err, hinted] of cases) {
    await t.test(`when ${name}, then ${hinted ? 'the hint' : 'no hint'}`, () => {
      assert.equal(localServersHint(err), hinted ? LOCAL_SERVERS_HINT : undefined);
    });
  }
});
