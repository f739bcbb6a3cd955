import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyIpPolicy, type IpPolicy } from './ip-policy.ts';

const cases: ReadonlyArray<{ when: string; ip: string; policy: IpPolicy; stored: string | null }> = [
  { when: 'the policy is full', ip: '203.0.113.57', policy: 'full', stored: '203.0.113.57' },
  { when: 'the policy is full for IPv6', ip: '2001:db8:a:b::1', policy: 'full', stored: '2001:db8:a:b::1' },
  { when: 'the policy is none', ip: '203.0.113.57', policy: 'none', stored: null },
  { when: 'the policy is none for IPv6', ip: '2001:db8::1', policy: 'none', stored: null },
  { when: 'an IPv4 address is truncated', ip: '203.0.113.57', policy: 'truncated', stored: '203.0.113.0' },
  { when: 'an IPv4 address already ends in 0 and is truncated', ip: '10.1.2.0', policy: 'truncated', stored: '10.1.2.0' },
  { when: 'an IPv6 address is truncated', ip: '2001:db8:a:b:c:d:e:f', policy: 'truncated', stored: '2001:db8:a::' },
  { when: 'a compressed IPv6 address is truncated', ip: '2001:db8:a:b::1', policy: 'truncated', stored: '2001:db8:a::' },
  {
    when: 'an upper-case IPv6 address with leading zeros is truncated',
    ip: '2001:0DB8:000A:0001::1',
    policy: 'truncated',
    stored: '2001:db8:a::',
  },
  { when: 'the IPv6 prefix has zeros', ip: '2001:0:0:1::1', policy: 'truncated', stored: '2001::' },
  { when: 'the IPv6 zero run is inside the prefix', ip: '1::2:3:4:5:6:7', policy: 'truncated', stored: '1:0:2::' },
  { when: 'an IPv4-mapped IPv6 address is truncated', ip: '::ffff:203.0.113.57', policy: 'truncated', stored: '203.0.113.0' },
  { when: 'an IPv4-mapped IPv6 address in hex is truncated', ip: '::ffff:cb00:7139', policy: 'truncated', stored: '203.0.113.0' },
  {
    when: 'an IPv4-mapped IPv6 address is spelled out in full',
    ip: '0:0:0:0:0:FFFF:203.0.113.57',
    policy: 'truncated',
    stored: '203.0.113.0',
  },
  { when: 'an IPv4-mapped IPv6 address is kept whole', ip: '::ffff:203.0.113.57', policy: 'full', stored: '::ffff:203.0.113.57' },
  { when: 'an IPv4-compatible (not mapped) IPv6 address is truncated', ip: '::203.0.113.57', policy: 'truncated', stored: '::' },
  { when: 'an IPv6 address merely ends like a mapped one', ip: '1::ffff:cb00:7139', policy: 'truncated', stored: '1::' },
  { when: 'an IPv6 address has a zone id', ip: 'fe80::1%eth0', policy: 'truncated', stored: null },
  { when: 'the value is not an IP', ip: 'localhost', policy: 'truncated', stored: null },
];

await test('applyIpPolicy', async (t) => {
  for (const { when, ip, policy, stored } of cases) {
    await t.test(`when ${when}, then ${String(stored)} is stored`, () => {
      assert.equal(applyIpPolicy(ip, policy), stored);
    });
  }
});
