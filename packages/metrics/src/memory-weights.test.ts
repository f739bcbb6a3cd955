import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventWeight, groupWeight } from './memory-weights.ts';
import { clickEvent } from './test-events.ts';

await test('memory weights', async (t) => {
  // The test event's other strings: 'e' + 'u1' + 's1' + 'FR', 7 characters; a group's country 'FR', 2.
  const cases: { name: string; urlKey: string; event: number; group: number }[] = [
    { name: 'a usual url_key', urlKey: 'https://shop.example/p/lamp-42', event: 1, group: 1 },
    { name: 'a url_key of 252 characters', urlKey: `/${'a'.repeat(251)}`, event: 2, group: 1 },
    { name: 'a url_key of 254 characters', urlKey: `/${'a'.repeat(253)}`, event: 2, group: 2 },
    { name: 'a url_key of 2,048 characters, the most the contract allows', urlKey: `/${'a'.repeat(2_047)}`, event: 9, group: 9 },
  ];
  for (const { name, urlKey, event, group } of cases) {
    await t.test(`when ${name}, then an event weighs ${event} and its group ${group}`, () => {
      assert.equal(eventWeight(clickEvent({ eventId: 'e', urlKey })), event);
      assert.equal(groupWeight({ urlKey, country: 'FR' }), group);
    });
  }

  await t.test('when ids are long, then the event weighs more too; without a session id it weighs less', () => {
    assert.equal(eventWeight(clickEvent({ eventId: 'e'.repeat(300), urlKey: '/' })), 2);
    assert.equal(eventWeight(clickEvent({ eventId: 'e', userId: 'u'.repeat(600), urlKey: '/' })), 3);
    assert.equal(eventWeight(clickEvent({ eventId: 'e', sessionId: null, urlKey: `/${'a'.repeat(240)}` })), 1);
  });
});
