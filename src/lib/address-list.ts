import { BlockList, isIP } from 'node:net';
import type { CidrBlock } from './cidr.js';

/** A set of IP blocks (node:net BlockList: no CIDR arithmetic of ours). */
export interface AddressList {
  /** Number of blocks; 0 matches nothing. */
  readonly size: number;
  /** True when `address` (IPv4, IPv6 or IPv4-mapped IPv6) is in a block; false for anything that is not an address. */
  has(address: string): boolean;
}

const mappedPrefix = '::ffff:';

/**
 * `::ffff:192.0.2.7` → `192.0.2.7`: a dual-stack listener reports IPv4
 * peers in their mapped form, and one client must have one key (connection
 * counts, events).
 */
export function canonicalAddress(address: string): string {
  if (address.length > mappedPrefix.length && address.slice(0, mappedPrefix.length).toLowerCase() === mappedPrefix) {
    const rest = address.slice(mappedPrefix.length);
    if (isIP(rest) === 4) return rest;
  }
  return address;
}

/** Remembered answers per list; cleared when full (churning it costs one clear per this many new addresses). */
const maxRemembered = 10_000;

/**
 * Builds the list once at start. A BlockList lookup crosses into C++ and
 * parses the address (about 0.5 µs); `request.ip` asks the trusted-proxy
 * list again on every read, so answers are remembered per address.
 */
export function createAddressList(blocks: readonly CidrBlock[]): AddressList {
  const list = new BlockList();
  for (const block of blocks) list.addSubnet(block.address, block.prefix, block.family);
  const remembered = new Map<string, boolean>();
  const lookup = (address: string): boolean => {
    const canonical = canonicalAddress(address);
    const version = isIP(canonical);
    if (version === 0) return false;
    // BlockList matches IPv4 blocks against IPv4-mapped IPv6 and the reverse itself.
    return list.check(canonical, version === 4 ? 'ipv4' : 'ipv6');
  };
  return {
    size: blocks.length,
    has(address) {
      // The longest textual address is 45 characters (IPv4-mapped IPv6); longer is junk from a header, never kept.
      if (blocks.length === 0 || address.length > 45) return false;
      let answer = remembered.get(address);
      if (answer === undefined) {
        if (remembered.size >= maxRemembered) remembered.clear();
        answer = lookup(address);
        remembered.set(address, answer);
      }
      return answer;
    },
  };
}
