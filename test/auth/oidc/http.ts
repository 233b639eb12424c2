/**
 * The relying party's and the browser's side of the tests: a fetch that
 * speaks to the app through `inject` (openid-client's customFetch), and a
 * cookie-keeping browser that follows the authorization redirects.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import * as client from 'openid-client';

function headerRecord(response: LightMyRequestResponse): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [String(value)]) headers.append(name, item);
  }
  return headers;
}

/** openid-client's customFetch over app.inject: the real client, the real app, no socket. */
export function injectFetch(app: FastifyInstance): client.CustomFetch {
  return async (url, options) => {
    const target = new URL(url);
    const body =
      options.body === undefined || options.body === null
        ? undefined
        : String(options.body as string | URLSearchParams);
    const response = await app.inject({
      method: options.method as 'GET' | 'POST',
      url: `${target.pathname}${target.search}`,
      headers: options.headers,
      ...(body !== undefined && { payload: body }),
    });
    const empty = response.statusCode === 204 || response.statusCode === 304;
    return new Response(empty ? null : response.rawPayload, {
      status: response.statusCode,
      headers: headerRecord(response),
    });
  };
}

/** Discovers the server as a real relying party would. */
export async function discover(
  app: FastifyInstance,
  issuer: string,
  clientId: string,
  auth: client.ClientAuth,
  metadata: Partial<client.ClientMetadata> = {},
): Promise<client.Configuration> {
  const fetch = injectFetch(app);
  const configuration = await client.discovery(new URL(issuer), clientId, metadata, auth, {
    [client.customFetch]: fetch,
    algorithm: 'oidc',
  });
  configuration[client.customFetch] = fetch;
  return configuration;
}

/** A browser: keeps cookies, follows redirects within the server, stops at the client's redirect_uri. */
export class TestBrowser {
  readonly #cookies = new Map<string, string>();
  constructor(private readonly app: FastifyInstance) {}

  #remember(response: LightMyRequestResponse): void {
    for (const cookie of response.cookies) {
      if (cookie.value === '' || (cookie.expires !== undefined && cookie.expires.getTime() < Date.now()))
        this.#cookies.delete(cookie.name);
      else this.#cookies.set(cookie.name, cookie.value);
    }
  }

  /** A request with the browser's cookies; `form` is sent urlencoded. */
  async request(method: 'GET' | 'POST', url: string, form?: Record<string, string>): Promise<LightMyRequestResponse> {
    const target = new URL(url, 'https://localhost');
    const cookie = [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await this.app.inject({
      method,
      url: `${target.pathname}${target.search}`,
      headers: {
        ...(cookie !== '' && { cookie }),
        ...(form !== undefined && { 'content-type': 'application/x-www-form-urlencoded' }),
      },
      ...(form !== undefined && { payload: new URLSearchParams(form).toString() }),
    });
    this.#remember(response);
    return response;
  }

  /**
   * Opens the authorization URL, logs in as `accountId` through the test-only
   * interaction route, and returns the URL the server finally redirects to.
   */
  async authorize(authorizationUrl: URL, login: { accountId: string; amr?: string; acr?: string }): Promise<URL> {
    let response = await this.request('GET', authorizationUrl.toString());
    let location = response.headers.location;
    if (typeof location !== 'string')
      return new URL(
        `https://client.invalid/?status=${response.statusCode}&body=${encodeURIComponent(response.body.slice(0, 300))}`,
      );
    const uid = /^\/interaction\/([^/?]+)/.exec(location)?.[1];
    if (uid !== undefined) {
      const query = new URLSearchParams({
        accountId: login.accountId,
        amr: login.amr ?? 'pwd,otp',
        acr: login.acr ?? 'urn:caduceus:acr:mfa',
      });
      response = await this.request('POST', `/interaction/${uid}/test-login?${query.toString()}`);
      location = response.headers.location;
      while (
        typeof location === 'string' &&
        location.startsWith(authorizationUrl.origin) &&
        !location.includes('code=') &&
        !location.includes('error=')
      ) {
        response = await this.request('GET', location);
        location = response.headers.location;
      }
    }
    if (typeof location !== 'string') throw new Error(`no redirect (status ${response.statusCode})`);
    return new URL(location, authorizationUrl.origin);
  }
}
