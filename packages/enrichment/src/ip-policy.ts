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
  const family = isIP(ip);
  if (family === 4) return `${ip.slice(0, ip.lastIndexOf('.'))}.0`;
  return family === 6 ? truncateIpv6(ip) : null;
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
