import { isIP } from 'node:net';
import { invalid } from '../refusal.js';
import type { EdgeCheck } from './types.js';

/**
 * The client address must be an address. With trusted proxies, the hop
 * Fastify settles on is an X-Forwarded-For entry, which could be any text a
 * proxy passed through; everything downstream (lists, rate limits, audit)
 * keys on it, so anything else is refused.
 */
export const checkClientAddress: EdgeCheck = (input) =>
  isIP(input.ip) === 0 ? invalid('client_address', 'The forwarded client address is malformed') : undefined;
