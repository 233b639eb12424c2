import type { CidrBlock } from '../config/index.js';
import { createAddressList } from '../lib/address-list.js';

/** Fastify's `trustProxy` function: is the hop at `address` one of our proxies? */
export type TrustProxyFunction = (address: string, hop: number) => boolean;

/**
 * Fastify's `trustProxy` option for the configured proxies. Fastify
 * (@fastify/proxy-addr) walks from the socket peer through X-Forwarded-For
 * right to left and stops at the first address this function does not
 * trust: that address is `request.ip`. With no proxies configured the
 * header is ignored altogether (`false`), so a direct client cannot choose
 * its own address.
 */
export function trustProxyOption(proxies: readonly CidrBlock[]): false | TrustProxyFunction {
  if (proxies.length === 0) return false;
  const trusted = createAddressList(proxies);
  return (address) => trusted.has(address);
}
