import type { EdgeConfig } from '../config/index.js';
import { createAddressList, type AddressList } from '../lib/address-list.js';

/** The edge configuration in the form the checks use, built once at start. */
export interface EdgePolicy {
  readonly trustedProxies: AddressList;
  /** Null when no allow list is set: every address not denied is served. */
  readonly allow: AddressList | null;
  readonly deny: AddressList;
  readonly maxUrlBytes: number;
  readonly maxHeaderCount: number;
  readonly maxQueryParams: number;
  /** 0: no limit. */
  readonly maxConnectionsPerIp: number;
  /** CADUCEUS_SUSPICIOUS_INPUT=block: signatures refuse as well as report. */
  readonly blockSuspicious: boolean;
}

/** Compiles the address lists of `config`. */
export function createEdgePolicy(config: EdgeConfig): EdgePolicy {
  return {
    trustedProxies: createAddressList(config.trustedProxies),
    allow: config.allowList.length === 0 ? null : createAddressList(config.allowList),
    deny: createAddressList(config.denyList),
    maxUrlBytes: config.maxUrlBytes,
    maxHeaderCount: config.maxHeaderCount,
    maxQueryParams: config.maxQueryParams,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    blockSuspicious: config.suspiciousInput === 'block',
  };
}
