/**
 * Outbound requests to URLs an operator configured (alert webhooks, an
 * identity provider's jwks_uri): one SSRF guard for all of them. The host is
 * resolved once, every address checked, and the connection pinned to the
 * checked address so that a rebinding DNS server cannot answer differently
 * the second time.
 */
import { CaduceusError } from '../errors/index.js';
import { lookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import type { AddressList } from './address-list.js';

/** Why an outbound target was refused; the message names no URL or address. */
export class OutboundTargetError extends CaduceusError {
  override readonly name = 'OutboundTargetError';
  readonly code = 'OUTBOUND_TARGET_REFUSED';
  readonly operatorSafe = true;
  /** `unresolved`: the host has no address; `internal`: it resolves to an address that is not allow-listed. */
  readonly reason: 'unresolved' | 'internal';

  constructor(reason: 'unresolved' | 'internal') {
    super(
      reason === 'unresolved'
        ? 'host does not resolve'
        : 'host resolves to an internal address that is not allow-listed',
    );
    this.reason = reason;
  }
}

/** The address a checked host resolved to: the one the connection must go to. */
export interface ResolvedTarget {
  readonly address: string;
  readonly family: 4 | 6;
}

/**
 * Addresses an outbound request must not reach unless allow-listed (SSRF:
 * a target configured, or resolved, to an internal service): loopback,
 * private, link-local, carrier-grade NAT, unspecified, multicast, reserved,
 * benchmarking and NAT64 ranges. IPv4-mapped IPv6 is checked against the IPv4 rules by BlockList.
 */
export function internalAddresses(): BlockList {
  const list = new BlockList();
  const v4: [string, number][] = [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15],
    ['224.0.0.0', 4],
    ['240.0.0.0', 4],
  ];
  for (const [network, prefix] of v4) list.addSubnet(network, prefix, 'ipv4');
  const v6: [string, number][] = [
    ['::', 128],
    ['::1', 128],
    ['fc00::', 7],
    ['fe80::', 10],
    ['ff00::', 8],
    ['64:ff9b::', 96],
  ];
  for (const [network, prefix] of v6) list.addSubnet(network, prefix, 'ipv6');
  return list;
}

/** The host part of a URL as a resolver takes it (IPv6 literals lose their brackets). */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * Resolves the URL's host with dns.lookup and refuses it when any address is
 * internal and not allow-listed; returns the address to connect to.
 */
export async function resolveOutboundTarget(
  url: URL,
  internal: BlockList,
  allowed: AddressList,
): Promise<ResolvedTarget> {
  const host = hostOf(url);
  let addresses: { address: string; family: number }[];
  try {
    addresses =
      isIP(host) === 0 ? await lookup(host, { all: true, order: 'verbatim' }) : [{ address: host, family: isIP(host) }];
  } catch {
    throw new OutboundTargetError('unresolved');
  }
  const first = addresses[0];
  if (first === undefined) throw new OutboundTargetError('unresolved');
  for (const { address, family } of addresses) {
    if (internal.check(address, family === 6 ? 'ipv6' : 'ipv4') && !allowed.has(address))
      throw new OutboundTargetError('internal');
  }
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}

/** A `lookup` for node:http(s) that answers only the checked address; TLS still verifies the URL's host name. */
export function pinnedLookup(target: ResolvedTarget): LookupFunction {
  return (_hostname, lookupOptions, callback) => {
    if ((lookupOptions as { all?: boolean }).all === true)
      callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
}
