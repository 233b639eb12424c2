/**
 * A guarded GET of a JSON document from an operator-configured https URL
 * (an IdP's or a client's jwks_uri): https only, the host checked and pinned
 * by src/lib/outbound-target.ts, no redirects, a time and size bound.
 * Hand-written on node:https rather than fetch() because undici offers no
 * per-request DNS pinning without a custom dispatcher.
 */
import { CaduceusError } from '../errors/index.js';
import { request } from 'node:https';
import { isIP } from 'node:net';
import type { AddressList } from './address-list.js';
import { hostOf, internalAddresses, pinnedLookup, resolveOutboundTarget } from './outbound-target.js';

/** A failed fetch; the message names a status or a cause, never the URL. */
export class OutboundFetchError extends CaduceusError {
  override readonly name = 'OutboundFetchError';
  readonly code = 'OUTBOUND_FETCH_FAILED';
  readonly operatorSafe = true;
}

/** Options of {@link fetchJson}. */
export interface FetchJsonOptions {
  /** Addresses or CIDRs an internal-looking host may resolve to. */
  readonly allowed: AddressList;
  /** Extra trusted CA (PEM); the system's CAs otherwise. */
  readonly ca?: string | Buffer;
  readonly timeoutMs: number;
  /** Largest body accepted, bytes. */
  readonly maxBytes: number;
}

function get(url: URL, options: FetchJsonOptions, target: Parameters<typeof pinnedLookup>[0]): Promise<Buffer> {
  const host = hostOf(url);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host,
        port: url.port === '' ? 443 : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers: { accept: 'application/json, application/jwk-set+json', 'user-agent': 'caduceus' },
        lookup: pinnedLookup(target),
        ...(isIP(host) === 0 && { servername: host }),
        ...(options.ca !== undefined && { ca: options.ca }),
        minVersion: 'TLSv1.2',
        signal: AbortSignal.timeout(options.timeoutMs),
        agent: false,
      },
      (response) => {
        // RFC 9110 §15.4: redirects are not followed; a jwks_uri that moves must be reconfigured.
        if (response.statusCode !== 200) {
          response.resume();
          reject(new OutboundFetchError(`answered ${response.statusCode ?? 0}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > options.maxBytes) {
            response.destroy();
            reject(new OutboundFetchError('response too large'));
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => {
          resolve(Buffer.concat(chunks));
        });
        response.on('error', (error: Error & { code?: string }) => {
          reject(new OutboundFetchError(`response failed (${error.code ?? error.name})`));
        });
      },
    );
    outgoing.on('error', (error: Error & { code?: string }) => {
      reject(new OutboundFetchError(`request failed (${error.code ?? error.name})`));
    });
    outgoing.end();
  });
}

/** GETs and parses a JSON document; throws OutboundTargetError for a refused host, OutboundFetchError otherwise. */
export async function fetchJson(url: URL, options: FetchJsonOptions): Promise<unknown> {
  if (url.protocol !== 'https:') throw new OutboundFetchError('only https:// URLs are fetched');
  // Built per fetch (a few microseconds; fetches are rare and cached by the caller): no module-level state.
  const target = await resolveOutboundTarget(url, internalAddresses(), options.allowed);
  const body = await get(url, options, target);
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw new OutboundFetchError('response is not JSON');
  }
}
