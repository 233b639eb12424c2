/**
 * The authorization server: oidc-provider 9 built from our configuration,
 * storage, keys and audit, behind the typed facade of facade.ts. A provider
 * instance is bound to the token-signing key that was current when it was
 * built; after a rotation (`caduceus keys rotate`) the next request builds a
 * new instance on the new key (all state is in the database, the cookie keys
 * are shared, so nothing is lost).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import Provider, { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { AuditLog } from '../../audit/event.js';
import type { KeyManager } from '../../keys/ports.js';
import type { KeyValueStore } from '../../storage/ports.js';
import type { OAuthClientStore, OidcStateStore } from '../../storage/oidc-ports.js';
import type { BearerVerifier } from '../authenticate-plugin.js';
import type { RevocationStore } from '../revocation.js';
import { secretHashPrefix } from './clients.js';
import { providerConfiguration, type ProviderSettings } from './configuration.js';
import type { AccountDirectory, AuthorizationServer } from './facade.js';
import { abortInteractionOf, finishInteractionOf, interactionDetailsOf } from './interactions.js';
import type { ProviderFetch } from './jwks-fetch.js';
import { oauthAuditMiddleware, requestRecordOf } from './oauth-audit.js';
import { smartOfflineAccess } from './offline-access.js';
import { providerSigningKeys } from './signing-key.js';
import { storageKey, type StorageAdapterHooks } from './storage-adapter.js';
import { accessTokenEndpoints, smartLaunchContext } from './token-endpoints.js';

/** Everything the authorization server needs, passed in (STYLE.md #1). */
export interface AuthorizationServerDependencies {
  readonly settings: ProviderSettings;
  readonly state: OidcStateStore;
  readonly clients: OAuthClientStore;
  readonly kv: KeyValueStore;
  /** The keys session and interaction cookies are signed with, newest first: the same in every process (cookie-keys.ts). */
  readonly cookieKeys: readonly string[];
  readonly keys: KeyManager;
  readonly accounts: AccountDirectory;
  /** The core gate's revocation store: grants and tokens ended here are refused by the API at once. */
  readonly revocation: RevocationStore;
  /** The core gate's verifier (introspection and revocation of access tokens). */
  readonly verifier: BearerVerifier;
  readonly audit: AuditLog;
  /** Security headers every provider response carries (src/edge/security-headers.ts). */
  readonly headers: Readonly<Record<string, string>>;
  /** The fetch of client jwks_uri documents: clientJwksFetch (jwks-fetch.ts), the SSRF-guarded one. */
  readonly fetch: ProviderFetch;
}

/** The server as the app mounts it: the facade, plus the Node request handler of the current provider. */
export interface MountedAuthorizationServer extends AuthorizationServer {
  /** The request handler of the provider bound to the current signing key. */
  handler(): Promise<(req: IncomingMessage, res: ServerResponse) => Promise<void>>;
  readonly issuer: string;
  /** Public base URL of the device (mutual-TLS) listener, or null (RFC 8705 §5 aliases). */
  readonly mtlsBaseUrl: string | null;
}

/** oidc-provider compares the stored client_secret with what the client sent; ours stores SHA-256 of it. */
function compareHashedSecret(this: { clientSecret?: string }, actual: string): boolean {
  const stored = this.clientSecret ?? '';
  if (!stored.startsWith(secretHashPrefix) || typeof actual !== 'string') return false;
  const expected = Buffer.from(stored.slice(secretHashPrefix.length));
  const given = Buffer.from(storageKey(actual));
  // Both are 43-character base64url digests; a length mismatch means a malformed stored value.
  return expected.length === given.length && timingSafeEqual(expected, given);
}

function adapterHooks(deps: AuthorizationServerDependencies): StorageAdapterHooks {
  return {
    async onConsumeRace(model, grantId) {
      const record = requestRecordOf(Provider.ctx);
      record?.outcomes.push(model === 'RefreshToken' ? 'refresh_reuse_detected' : 'code_reuse_detected');
      if (grantId === null) return;
      record?.revokedGrants.push(grantId);
      await deps.state.revokeByGrantId(grantId);
      await deps.revocation.revokeGrant(grantId);
    },
    replayError: (kind) =>
      kind === 'assertion_replayed'
        ? new errors.InvalidClientAuth('client assertion tokens must only be used once')
        : new errors.InvalidGrant('grant request is invalid'),
  };
}

/** Provider events: reuse detection and grant revocation reach the gate's revocation store before the response leaves. */
function listen(provider: Provider, deps: AuthorizationServerDependencies): void {
  provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
    const record = requestRecordOf(ctx);
    const write = deps.revocation.revokeGrant(grantId);
    if (record === undefined) {
      void write.catch(() => undefined);
      return;
    }
    record.pending.push(write);
    record.revokedGrants.push(grantId);
    if (ctx.oidc.route === 'token') {
      const grantType = ctx.oidc.params?.grant_type;
      record.outcomes.push(grantType === 'refresh_token' ? 'refresh_reuse_detected' : 'code_reuse_detected');
    }
  });
  // oidc-provider logs server errors to the console by default; ours say nothing of the request (no PHI, no tokens).
  provider.on('server_error', () => undefined);
}

async function buildProvider(
  deps: AuthorizationServerDependencies,
  cookieKeys: readonly string[],
): Promise<{ provider: Provider; kid: string }> {
  const signing = await providerSigningKeys(deps.keys);
  const provider = new Provider(
    deps.settings.issuer,
    providerConfiguration(deps.settings, {
      state: deps.state,
      clients: deps.clients,
      accounts: deps.accounts,
      signingKeys: signing.all,
      signingAlgorithm: signing.current.alg,
      cookieKeys,
      hooks: adapterHooks(deps),
      fetch: deps.fetch,
    }),
  );
  // The mount sets X-Forwarded-Proto itself (the listener is TLS-only); client-sent forwarding headers are removed first.
  provider.proxy = true;
  (provider.Client.prototype as { compareClientSecret: typeof compareHashedSecret }).compareClientSecret =
    compareHashedSecret;
  provider.use(oauthAuditMiddleware(deps.audit, deps.headers));
  provider.use(accessTokenEndpoints(deps.verifier, deps.revocation));
  provider.use(smartOfflineAccess('/authorize'));
  provider.use(smartLaunchContext());
  listen(provider, deps);
  return { provider, kid: signing.current.kid };
}

/** Creates the authorization server; the provider is built now, and again after each signing-key rotation. */
export async function createAuthorizationServer(
  deps: AuthorizationServerDependencies,
): Promise<MountedAuthorizationServer> {
  const { cookieKeys } = deps;
  let built = await buildProvider(deps, cookieKeys);
  let callback = built.provider.callback();
  let rebuilding: Promise<void> | undefined;

  async function current(): Promise<Provider> {
    const { kid } = await deps.keys.currentKey('token-signing');
    if (kid !== built.kid) {
      rebuilding ??= buildProvider(deps, cookieKeys)
        .then((fresh) => {
          built = fresh;
          callback = fresh.provider.callback();
        })
        .finally(() => {
          rebuilding = undefined;
        });
      await rebuilding;
    }
    return built.provider;
  }

  return {
    issuer: deps.settings.issuer,
    mtlsBaseUrl: deps.settings.mtlsBaseUrl,
    async handler() {
      await current();
      return callback;
    },
    async interactionDetails(req, res) {
      return interactionDetailsOf(await current(), req, res);
    },
    async finishInteraction(req, res, result) {
      return finishInteractionOf(await current(), deps.settings.audience, req, res, result);
    },
    async abortInteraction(req, res, abort) {
      return abortInteractionOf(await current(), req, res, abort);
    },
  };
}
