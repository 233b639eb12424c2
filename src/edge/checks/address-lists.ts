import { forbidden } from '../refusal.js';
import type { EdgeCheck } from './types.js';

/** CADUCEUS_IP_DENY_LIST: listed client addresses are refused whatever else holds. */
export const checkDenyList: EdgeCheck = (input, policy) =>
  policy.deny.has(input.ip) ? forbidden('ip_denied') : undefined;

/** CADUCEUS_IP_ALLOW_LIST: when set, every address outside it is refused. */
export const checkAllowList: EdgeCheck = (input, policy) =>
  policy.allow !== null && !policy.allow.has(input.ip) ? forbidden('ip_not_allowed') : undefined;
