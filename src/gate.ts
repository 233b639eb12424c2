/**
 * The authentication gate of a server process (docs/oauth.md): the bearer
 * verifier over every trusted issuer, the user directory with its hashing
 * threads, and the authorization server, opened as steps of the process's
 * startup.
 */
import type { Logger } from 'pino';
import type { AuditLog } from './audit/event.js';
import { createExternalIssuerProfiles } from './auth/external/index.js';
import { localIssuerProfile } from './auth/issuer-profile.js';
import type { BearerVerifier } from './auth/authenticate-plugin.js';
import {
  accountDirectoryFromUsers,
  clientJwksFetch,
  createAuthorizationServer,
  providerSettingsOf,
  type MountedAuthorizationServer,
} from './auth/oidc/index.js';
import { cookieKeysOf } from './auth/oidc/cookie-keys.js';
import { createRevocationStore, type RevocationStore } from './auth/revocation.js';
import { createUserServices, type UserServices } from './auth/users/services.js';
import { createTokenVerifier } from './auth/verify-token.js';
import type { Config } from './config/index.js';
import { securityHeaders } from './edge/security-headers.js';
import type { KeyManager } from './keys/ports.js';
import type { Breakers } from './lib/circuit-breaker.js';
import type { Runtime } from './runtime.js';
import type { ServiceOverrides } from './service-overrides.js';
import type { Startup } from './startup.js';

/** Revocations are kept one day by default: longer than any access token this server accepts lives. */
const defaultRevocationRetentionMs = 86_400_000;

/** What the gate opens. */
export interface Gate {
  readonly revocation: RevocationStore;
  readonly verifier: BearerVerifier;
  readonly users: UserServices;
  readonly authorizationServer: MountedAuthorizationServer;
}

/** What the authentication layer is built from. */
interface GateContext extends Omit<Runtime, 'close' | 'keys'> {
  readonly logger: Logger;
  readonly breakers: Breakers;
  readonly keys: KeyManager;
  readonly audit: AuditLog;
}

/** The bearer gate, the user directory and the authorization server (docs/oauth.md). */
export async function openGate(
  startup: Startup,
  config: Config,
  overrides: ServiceOverrides,
  context: GateContext,
): Promise<Gate> {
  const { db, keys, logger, breakers } = context;
  const revocation = createRevocationStore(db.kv, {
    retentionMs: overrides.revocationRetentionMs ?? defaultRevocationRetentionMs,
  });
  const verifier = createTokenVerifier({
    // A hospital's own IdPs (docs/external-idp.md): keys from their jwks_uri behind the `jwks` breaker.
    profiles: [
      localIssuerProfile(config.auth.issuer, keys),
      ...createExternalIssuerProfiles(config.auth.externalIssuers, {
        breakers,
        logger,
        resetMs: config.breakers.resetMs,
        ...(overrides.externalJwks !== undefined && { jwks: overrides.externalJwks }),
      }),
    ],
    audience: config.auth.audience,
    clockSkewSeconds: config.auth.clockSkewSeconds,
    revocation,
  });
  // Hash threads are per process and end with it.
  const users = await startup.open(
    'user-services',
    () =>
      createUserServices({
        settings: config.users,
        fips: config.fips,
        db,
        fhirBaseUrl: config.auth.audience,
        ...(overrides.now !== undefined && { now: overrides.now }),
      }),
    (opened) => opened.threads.close(),
  );
  // Its state in this database, its tokens signed by the gate's keys, its accounts from the user directory.
  const authorizationServer = await startup.open('authorization-server', () =>
    createAuthorizationServer({
      settings: providerSettingsOf(config),
      state: db.oidc,
      clients: db.clients,
      kv: db.kv,
      // Shared by every process of the deployment (docs/key-management.md "Secrets processes share").
      cookieKeys: cookieKeysOf(config.sharedSecrets.cookieKeys, (purpose, length) =>
        context.masterKey.derive(purpose, length),
      ),
      keys,
      accounts: overrides.accounts ?? accountDirectoryFromUsers(users.directory),
      revocation,
      verifier,
      audit: context.audit,
      headers: securityHeaders,
      // Client jwks_uri fetches through the SSRF guard (docs/oauth.md; CADUCEUS_JWKS_FETCH_ALLOW).
      fetch: clientJwksFetch({
        allow: config.oauth.jwksFetchAllow,
        ...(overrides.clientJwksCa !== undefined && { ca: overrides.clientJwksCa }),
      }),
    }),
  );
  return { revocation, verifier, users, authorizationServer };
}
