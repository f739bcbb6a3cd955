import { isIP } from 'node:net';

/** How much of the client IP is stored: all of it, its network prefix, or nothing. */
export const IP_POLICIES = ['full', 'truncated', 'none'] as const;

export type IpPolicy = (typeof IP_POLICIES)[number];

/**
 * The IP to store under `policy`. `truncated` keeps the network: IPv4 /24 (`1.2.3.4` ->
 * `1.2.3.0`), IPv6 /48 in compressed form (`2001:db8:a:b::1` -> `2001:db8:a::`). Returns null
 * for `none`, and for `truncated` when `ip` is not an IP literal (nothing safe to keep).
 * Geo lookups must use the full IP, before this is applied.
 */
export function applyIpPolicy(ip: string, policy: IpPolicy): string | null {
  if (policy === 'full') return ip;
  if (policy === 'none') return null;
  const address = lookupAddress(ip);
  const family = isIP(address);
  if (family === 4) return `${address.slice(0, address.lastIndexOf('.'))}.0`;
  return family === 6 ? truncateIpv6(address) : null;
}

/**
 * The address to look up and truncate: the IPv4 address an IPv4-mapped IPv6 address carries
 * (`::ffff:203.0.113.57`, in any spelling, -> `203.0.113.57`), else `ip` unchanged.
 */
export function lookupAddress(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(compressIpv6(ip) ?? '');
  if (mapped === null) return ip;
  const [high, low] = [parseInt(mapped[1] ?? '0', 16), parseInt(mapped[2] ?? '0', 16)];
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

function truncateIpv6(ip: string): string | null {
  const canonical = compressIpv6(ip);
  if (canonical === null) return null;
  const [head = '', tail] = canonical.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return compressIpv6(`${groups.slice(0, 3).join(':')}::`);
}

// The WHATWG URL serialiser writes IPv6 hosts in RFC 5952 compressed form, all in hex groups
// (no dotted IPv4 tail); it rejects zone ids (`fe80::1%eth0`), which then have no truncation.
function compressIpv6(ip: string): string | null {
  return URL.parse(`http://[${ip}]`)?.hostname.slice(1, -1) ?? null;
}
