/**
 * The oidc-provider configuration, assembled in one visible object: which
 * grants exist (code + PKCE, client_credentials, refresh), how clients
 * authenticate, what the access token carries and how long everything lives.
 * Every option left at a library default is one that is safe as it is.
 */
import {
  errors,
  type Account,
  type AccessToken,
  type ClientCredentials,
  type Configuration,
  type KoaContextWithOIDC,
  type RefreshToken,
  type Session,
} from 'oidc-provider';
import type { OAuthClientStore, OidcStateStore } from '../../storage/oidc-ports.js';
import type { SigningAlgorithm } from '../../keys/ports.js';
import { isRole } from '../../http/principal.js';
import { clientAssertionAlgorithms, clientAuthMethods, providerMetadataOf } from './clients.js';
import { acrValues, interactionPath, type AccountDirectory } from './facade.js';
import type { ProviderFetch } from './jwks-fetch.js';
import { mtlsEndpointAliases, mtlsFeature } from './mtls.js';
import { errorPage, loggedOutPage, logoutPage } from './pages.js';
import { allowedResourceScopes, contextScopes } from './smart-scopes.js';
import type { KeyManagerSigningKey } from './signing-key.js';
import { OidcStorageAdapter, type StorageAdapterHooks } from './storage-adapter.js';

/** Lifetimes and names the provider is built with. */
export interface ProviderSettings {
  readonly issuer: string;
  /** The API's `aud` (config.auth.audience): the only resource tokens are issued for. */
  readonly audience: string;
  readonly accessTokenTtlSeconds: number;
  readonly refreshTokenTtlSeconds: number;
  /** Absolute lifetime of a provider session from sign-in (the login pages' absolute timeout). */
  readonly sessionTtlSeconds: number;
  /** A provider session unused this long ends (the login pages' idle timeout). */
  readonly sessionIdleSeconds: number;
  readonly clockSkewSeconds: number;
  /** Public base URL of the device (mutual-TLS) listener, published as RFC 8705 `mtls_endpoint_aliases`; null without one. */
  readonly mtlsBaseUrl: string | null;
}

/** What the configuration is built from. */
export interface ProviderParts {
  readonly state: OidcStateStore;
  readonly clients: OAuthClientStore;
  readonly accounts: AccountDirectory;
  readonly signingKeys: readonly KeyManagerSigningKey[];
  readonly signingAlgorithm: SigningAlgorithm;
  /** Cookie-signing keys, newest first (shared by every process: src/auth/oidc/cookie-keys.ts). */
  readonly cookieKeys: readonly string[];
  readonly hooks: StorageAdapterHooks;
  /**
   * How the provider fetches a client's jwks_uri: through src/lib's
   * guard (https only, internal addresses refused unless allow-listed;
   * jwks-fetch.ts), never oidc-provider's own fetch, which has no allow-list.
   */
  readonly fetch: ProviderFetch;
}

/** Where the provider's endpoints live (mount.ts registers the same paths with Fastify). */
export const providerPaths = {
  authorization: '/authorize',
  token: '/token',
  jwks: '/jwks',
  introspection: '/token/introspection',
  revocation: '/token/revocation',
  end_session: '/session/end',
} as const;

/** SMART Backend Services: a client assertion may be valid for at most five minutes. */
const maxAssertionLifetimeSeconds = 300;
/** RFC 6749 §4.1.2: codes are short-lived (at most ten minutes recommended). */
const authorizationCodeTtlSeconds = 60;
const interactionTtlSeconds = 600;

/** A model the Client adapter ignores: clients are written by the CLI only (no dynamic registration). */
function clientAdapter(clients: OAuthClientStore): OidcStorageAdapter | object {
  return {
    async find(id: string) {
      const stored = await clients.get(id);
      return stored === undefined ? undefined : providerMetadataOf(stored);
    },
    upsert: () => Promise.reject(new Error('clients are registered with `caduceus client create`')),
    destroy: () => Promise.resolve(),
    consume: () => Promise.resolve(),
    revokeByGrantId: () => Promise.resolve(),
    findByUid: () => Promise.resolve(undefined),
    findByUserCode: () => Promise.resolve(undefined),
  };
}

/** Seconds left of a refresh-token chain: rotation never extends it past its first issue. */
function refreshTokenTtl(settings: ProviderSettings) {
  return (_ctx: KoaContextWithOIDC, token: RefreshToken): number => {
    const now = Math.floor(Date.now() / 1000);
    const start = token.iiat ?? token.iat;
    return Math.max(1, start + settings.refreshTokenTtlSeconds - now);
  };
}

/**
 * Automatic logoff (HIPAA 164.312(a)(2)(iii); docs/login-and-mfa.md) for the
 * provider's session after sign-in: oidc-provider saves a session on every
 * request that loads it, with this TTL, so each use extends it by the idle
 * timeout, never past the absolute timeout counted from sign-in. Once its
 * `exp` passes the session is not found and /authorize asks for login again.
 */
function sessionTtl(settings: ProviderSettings) {
  return (_ctx: KoaContextWithOIDC, session: Session): number => {
    const now = Math.floor(Date.now() / 1000);
    const absoluteLeft =
      session.loginTs === undefined ? settings.sessionTtlSeconds : session.loginTs + settings.sessionTtlSeconds - now;
    return Math.max(1, Math.min(settings.sessionIdleSeconds, absoluteLeft));
  };
}

/** Claims every access token carries beyond RFC 9068's: what the bearer gate reads (src/auth/token-claims.ts). */
function tokenClaims(accounts: AccountDirectory) {
  return async (ctx: KoaContextWithOIDC, token: AccessToken | ClientCredentials): Promise<Record<string, unknown>> => {
    if (token.kind === 'ClientCredentials') {
      const role = ctx.oidc.client?.metadata().role;
      if (!isRole(role)) throw new errors.InvalidClient('client has no role');
      return { role };
    }
    const account = await accounts.findAccount(token.accountId);
    if (account === undefined || account.disabled) throw new errors.InvalidGrant('account is not active');
    // The code or (rotated) refresh token this token is minted from carries how the user authenticated.
    const source = ctx.oidc.entities.RefreshToken ?? ctx.oidc.entities.AuthorizationCode;
    return {
      role: account.role,
      grant_id: token.grantId,
      ...(account.patient !== null && { patient: account.patient }),
      ...(account.fhirUser !== null && { fhirUser: account.fhirUser }),
      ...(source?.amr !== undefined && { amr: source.amr }),
      ...(source?.acr !== undefined && { acr: source.acr }),
    };
  };
}

function findAccount(accounts: AccountDirectory) {
  return async (_ctx: KoaContextWithOIDC, sub: string): Promise<Account | undefined> => {
    const account = await accounts.findAccount(sub);
    if (account === undefined || account.disabled) return undefined;
    return {
      accountId: account.accountId,
      claims: () => ({ sub: account.accountId, ...(account.fhirUser !== null && { fhirUser: account.fhirUser }) }),
    };
  };
}

/** The resource server (our API): JWT access tokens for `audience` and nothing else (RFC 8707). */
function resourceIndicators(
  settings: ProviderSettings,
  alg: SigningAlgorithm,
): NonNullable<Configuration['features']>['resourceIndicators'] {
  return {
    enabled: true,
    defaultResource: () => settings.audience,
    useGrantedResource: () => true,
    getResourceServerInfo: (_ctx, resource, client) => {
      if (resource !== settings.audience) throw new errors.InvalidTarget();
      return {
        scope: allowedResourceScopes(client.metadata().resource_scope as string | undefined).join(' '),
        audience: settings.audience,
        accessTokenTTL: settings.accessTokenTtlSeconds,
        // RFC 9068: typ at+jwt, signed by the KeyManager's token-signing key (ES256 or PS256).
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg } },
      };
    },
  };
}

/** Which oidc-provider features are on: the grants and endpoints of docs/oauth.md, nothing else. */
function features(settings: ProviderSettings, parts: ProviderParts): NonNullable<Configuration['features']> {
  return {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    userinfo: { enabled: false },
    registration: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: (ctx, form) => {
        ctx.type = 'html';
        ctx.body = logoutPage(form);
      },
      postLogoutSuccessSource: (ctx) => {
        ctx.type = 'html';
        ctx.body = loggedOutPage();
      },
    },
    resourceIndicators: resourceIndicators(settings, parts.signingAlgorithm),
    // RFC 8705: tls_client_auth, self_signed_tls_client_auth and cnf.x5t#S256 tokens (mtls.ts; docs/tls.md).
    mTLS: mtlsFeature(),
    externalSigningSupport: { enabled: true, ack: 'experimental-01' },
  };
}

/** How long each kind of record lives. */
function lifetimes(settings: ProviderSettings): NonNullable<Configuration['ttl']> {
  return {
    AccessToken: settings.accessTokenTtlSeconds,
    ClientCredentials: settings.accessTokenTtlSeconds,
    AuthorizationCode: authorizationCodeTtlSeconds,
    IdToken: settings.accessTokenTtlSeconds,
    Interaction: interactionTtlSeconds,
    Session: sessionTtl(settings),
    Grant: settings.refreshTokenTtlSeconds,
    RefreshToken: refreshTokenTtl(settings),
  };
}

/** The whole configuration. */
export function providerConfiguration(settings: ProviderSettings, parts: ProviderParts): Configuration {
  const { hooks, state, clients, accounts } = parts;
  return {
    adapter: (name: string) =>
      (name === 'Client' ? clientAdapter(clients) : new OidcStorageAdapter(name, state, hooks)) as OidcStorageAdapter,
    jwks: { keys: [...parts.signingKeys] },
    fetch: parts.fetch,
    cookies: { keys: [...parts.cookieKeys] },
    clockTolerance: settings.clockSkewSeconds,
    findAccount: findAccount(accounts),
    extraTokenClaims: tokenClaims(accounts),
    extraClientMetadata: {
      properties: ['role', 'resource_scope'],
      validator: (_ctx, key, value) => {
        if (key === 'role' && !isRole(value)) throw new errors.InvalidClientMetadata('role must be a known role');
        if (key === 'resource_scope' && value !== undefined && typeof value !== 'string')
          throw new errors.InvalidClientMetadata('resource_scope must be a string');
      },
    },
    // Code only: no implicit (id_token / token response types), and oidc-provider has no password grant (RFC 9700 §2.1.2, §2.4).
    responseTypes: ['code'],
    // RFC 7636 + RFC 9700 §2.1.1: PKCE for every client, confidential ones too; oidc-provider 9 accepts S256 only.
    pkce: { required: () => true },
    clientAuthMethods: [...clientAuthMethods],
    enabledJWA: {
      clientAuthSigningAlgValues: [...clientAssertionAlgorithms],
      idTokenSigningAlgValues: [parts.signingAlgorithm],
    },
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: parts.signingAlgorithm,
      token_endpoint_auth_method: 'private_key_jwt',
    },
    async assertJwtClientAuthClaimsAndHeader(_ctx, claims) {
      // SMART Backend Services §"Authenticating to the token endpoint": exp no more than five minutes ahead.
      const exp = claims.exp;
      if (
        typeof exp !== 'number' ||
        exp > Date.now() / 1000 + maxAssertionLifetimeSeconds + settings.clockSkewSeconds
      ) {
        throw new errors.InvalidClientAuth('client assertion exp must be at most five minutes ahead');
      }
      return Promise.resolve();
    },
    scopes: [...contextScopes],
    // OIDC Core §2: the ID token states how the user authenticated, as the access token does (RFC 8176 `amr`), requested or not.
    claims: { openid: ['sub', 'acr', 'amr', 'auth_time'], fhirUser: ['fhirUser'] },
    acrValues: [acrValues.password, acrValues.mfa],
    // RFC 9700 §4.14.2: a refresh token is used once; its replay revokes the grant (oidc-provider's reuse detection).
    rotateRefreshToken: true,
    issueRefreshToken: (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') &&
      (code.scopes.has('offline_access') || code.scopes.has('online_access')),
    routes: { ...providerPaths },
    // RFC 8705 §5: where a device reaches the token-side endpoints with its certificate.
    ...(settings.mtlsBaseUrl !== null && {
      discovery: { mtls_endpoint_aliases: mtlsEndpointAliases(settings.mtlsBaseUrl, providerPaths) },
    }),
    interactions: { url: (_ctx, interaction) => interactionPath(interaction.uid) },
    ttl: lifetimes(settings),
    clientBasedCORS: (_ctx, origin, client) =>
      client.redirectUris?.some((uri) => URL.parse(uri)?.origin === origin) === true,
    features: features(settings, parts),
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = errorPage(out.error);
    },
  };
}
