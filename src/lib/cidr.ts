import { BlockList, isIP } from 'node:net';

/** One address block of an edge list, checked by node:net's BlockList (src/lib/address-list.ts). */
export interface CidrBlock {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

const mappedIpv4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** `address` or `address/prefix`, IPv4 or IPv6; null when malformed. */
function parseCidr(entry: string): CidrBlock | null {
  const slash = entry.indexOf('/');
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const prefixText = slash < 0 ? undefined : entry.slice(slash + 1);
  const version = isIP(address);
  // A zone id (fe80::1%eth0) names an interface, not a network.
  if (version === 0 || address.includes('%')) return null;
  const max = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return null;
  // An IPv4-mapped IPv6 block (::ffff:10.0.0.0/104) is the IPv4 block it maps.
  const mapped = mappedIpv4.exec(address)?.[1];
  const block: CidrBlock =
    mapped !== undefined && prefix >= 96
      ? { address: mapped, prefix: prefix - 96, family: 'ipv4' }
      : { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
  try {
    // The same parser that will check requests must accept the block.
    new BlockList().addSubnet(block.address, block.prefix, block.family);
  } catch {
    return null;
  }
  return block;
}

/**
 * Parses a comma- or space-separated list of IP addresses and CIDR blocks
 * (`10.0.0.0/8, 2001:db8::/32, 192.0.2.7`); null when any entry is malformed.
 */
export function parseCidrList(raw: string): CidrBlock[] | null {
  const blocks: CidrBlock[] = [];
  for (const entry of raw.split(/[\s,]+/)) {
    if (entry === '') continue;
    const block = parseCidr(entry);
    if (block === null) return null;
    blocks.push(block);
  }
  return blocks;
}
