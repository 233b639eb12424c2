/**
 * The provider's fetch of a client's jwks_uri, through the same SSRF guard as
 * the webhook sink and the external IdPs' key fetches
 * (src/lib/outbound-fetch.ts): https only, no loopback, private or
 * link-local address unless allow-listed (CADUCEUS_JWKS_FETCH_ALLOW), the
 * connection pinned to the checked address, no redirects, a time and size
 * bound: the URL is the client's to choose (SSRF; docs/oauth.md).
 */
import type { CidrBlock } from '../../config/index.js';
import { createAddressList } from '../../lib/address-list.js';
import { fetchJson } from '../../lib/outbound-fetch.js';

/** The fetch signature oidc-provider's `fetch` option calls. */
export type ProviderFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Options of {@link clientJwksFetch}. */
export interface ClientJwksFetchOptions {
  /** Addresses an internal-looking jwks_uri host may resolve to (config.oauth.jwksFetchAllow). */
  readonly allow: readonly CidrBlock[];
  /** Extra trusted CA (PEM); the system's CAs (and NODE_EXTRA_CA_CERTS) otherwise. */
  readonly ca?: string | Buffer;
  /** Per fetch (default 2500 ms, oidc-provider's own bound). */
  readonly timeoutMs?: number;
}

/** JWK Sets are small; 64 KiB holds dozens of RSA keys with their x5c chains (as src/auth/external/remote-jwks.ts). */
const maxJwksBytes = 65_536;

/**
 * A fetch for oidc-provider that GETs a JSON document through the guard and
 * hands it back as a Response; a refused host or failed fetch rejects, which
 * the provider answers as invalid_client (the URL is never in the answer).
 */
export function clientJwksFetch(options: ClientJwksFetchOptions): ProviderFetch {
  const allowed = createAddressList(options.allow);
  const timeoutMs = options.timeoutMs ?? 2500;
  return async (input) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const document = await fetchJson(url, {
      allowed,
      timeoutMs,
      maxBytes: maxJwksBytes,
      ...(options.ca !== undefined && { ca: options.ca }),
    });
    return new Response(JSON.stringify(document), { status: 200, headers: { 'content-type': 'application/json' } });
  };
}
