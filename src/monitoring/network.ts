import { isIPv4, isIPv6 } from 'node:net';

/** The eight 16-bit groups of an IPv6 address (Node has no parser that exposes them; a dozen lines do). */
function ipv6Groups(address: string): number[] | null {
  const [head = '', tail, ...extra] = address.split('::');
  if (extra.length > 0) return null;
  const parse = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return null;
  return [...left, ...Array<number>(missing).fill(0), ...right];
}

/**
 * The network an address belongs to for "a token used from a new network":
 * its /24 for IPv4 (IPv4-mapped IPv6 included), its /48 for IPv6 (a site's
 * usual allocation). Null for what is not an IP address.
 */
export function networkOf(address: string | null): string | null {
  if (address === null) return null;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const ipv4 = mapped?.[1] ?? address;
  if (isIPv4(ipv4)) return `${ipv4.split('.').slice(0, 3).join('.')}.0/24`;
  const bare = address.split('%')[0] ?? '';
  if (!isIPv6(bare) || bare.includes('.')) return null;
  const groups = ipv6Groups(bare.toLowerCase());
  if (groups === null) return null;
  return `${groups
    .slice(0, 3)
    .map((group) => group.toString(16))
    .join(':')}::/48`;
}
