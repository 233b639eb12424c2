import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { AddressList } from '../../edge/address-list.js';

/** Why a webhook target was refused; the message names no URL or address. */
export class WebhookTargetError extends Error {
  override readonly name = 'WebhookTargetError';
}

/**
 * Addresses a webhook must not reach unless allow-listed (SSRF: an alert
 * receiver configured, or resolved, to an internal service): loopback,
 * private, link-local, carrier-grade NAT, unspecified, multicast, reserved,
 * benchmarking and NAT64 ranges. IPv4-mapped IPv6 is checked against the IPv4 rules by BlockList.
 */
export function internalAddresses(): BlockList {
  const list = new BlockList();
  const v4: [string, number][] = [
    ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
    ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
  ];
  for (const [network, prefix] of v4) list.addSubnet(network, prefix, 'ipv4');
  const v6: [string, number][] = [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96]];
  for (const [network, prefix] of v6) list.addSubnet(network, prefix, 'ipv6');
  return list;
}

/** The host part of a URL as a resolver takes it (IPv6 literals lose their brackets). */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * Resolves the webhook's host with dns.lookup and refuses it when any
 * address is internal and not allow-listed; resolves the address to connect
 * to, so that the connection goes where the check looked (no second lookup
 * that a rebinding DNS server could answer differently).
 */
export async function resolveWebhookTarget(url: URL, internal: BlockList, allowed: AddressList): Promise<{ address: string; family: 4 | 6 }> {
  const host = hostOf(url);
  let addresses: { address: string; family: number }[];
  try {
    addresses = isIP(host) === 0 ? await lookup(host, { all: true, order: 'verbatim' }) : [{ address: host, family: isIP(host) }];
  } catch {
    throw new WebhookTargetError('webhook host does not resolve');
  }
  const first = addresses[0];
  if (first === undefined) throw new WebhookTargetError('webhook host does not resolve');
  for (const { address, family } of addresses) {
    const kind = family === 6 ? 'ipv6' : 'ipv4';
    if (internal.check(address, kind) && !allowed.has(address)) {
      throw new WebhookTargetError('webhook host resolves to an internal address that is not allow-listed');
    }
  }
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}
