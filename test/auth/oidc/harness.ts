/**
 * Test harness of the authorization server: the real app (buildApp) on a
 * real database, keyring, sealer, audit log and revocation store, with the
 * provider mounted, plus what a test needs to act as a browser and as an
 * openid-client relying party. Interactions are completed by a test-only
 * route registered here (never in src/): the login pages are another module.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../../../src/app.js';
import type { AuditEvent } from '../../../src/audit/event.js';
import { createAuditLog } from '../../../src/audit/writer.js';
import { localIssuerProfile } from '../../../src/auth/issuer-profile.js';
import {
  clientJwksFetch,
  createAuthorizationServer,
  createClient,
  providerSettingsOf,
  type Account,
  type ClientRegistration,
  type MountedAuthorizationServer,
} from '../../../src/auth/oidc/index.js';
import { createRevocationStore, type RevocationStore } from '../../../src/auth/revocation.js';
import { createTokenVerifier } from '../../../src/auth/verify-token.js';
import { loadConfig, type Config } from '../../../src/config/index.js';
import { securityHeaders } from '../../../src/edge/security-headers.js';
import { createBreakers } from '../../../src/lib/circuit-breaker.js';
import { createMetrics } from '../../../src/gateway/metrics/index.js';
import { openKeyProtection } from '../../../src/keys/envelope/index.js';
import { openLocalKeyManager, resolveMasterKey, type LocalKeyManager } from '../../../src/keys/local/index.js';
import { createSecurityEvents } from '../../../src/lib/security-events.js';
import { createResourceDefinitions } from '../../../src/resources/index.js';
import { openDatabase } from '../../../src/storage/open.js';
import type { Database } from '../../../src/storage/ports.js';
import { openTestDatabase } from '../../helpers/database.js';
import { testMasterKey } from '../../helpers/process.js';

export interface OAuthTestApp {
  readonly app: FastifyInstance;
  readonly config: Config;
  readonly db: Database;
  readonly keys: LocalKeyManager;
  readonly server: MountedAuthorizationServer;
  readonly revocation: RevocationStore;
  /** Every audit event recorded so far. */
  readonly auditEvents: readonly AuditEvent[];
  /** The accounts findAccount sees; tests add and disable them. */
  readonly accounts: Map<string, Account>;
  readonly databaseUrl: string;
  readonly dir: string;
  registerClient(registration: ClientRegistration): Promise<{ clientId: string; secret: string | null }>;
}

export interface OAuthBuildOptions {
  readonly database?: 'sqlite' | 'postgres';
  /** A second "process" on the same database and keyring as this one. */
  readonly sharing?: OAuthTestApp;
  readonly env?: Record<string, string>;
  /** While this returns true, audit writes fail (fail-closed tests). */
  readonly auditFails?: () => boolean;
  /** A CA the guarded jwks_uri fetch trusts besides the system's (a local https jwks server). */
  readonly jwksCa?: string;
}

/** Builds the app with the authorization server mounted; closed after the test. */
export async function buildOAuthApp(t: TestContext, options: OAuthBuildOptions = {}): Promise<OAuthTestApp> {
  const sharing = options.sharing;
  const dir = sharing?.dir ?? (await mkdtemp(path.join(tmpdir(), 'caduceus-oauth-')));
  const config = loadConfig(
    {
      CADUCEUS_DATA_DIR: dir,
      CADUCEUS_LOG_LEVEL: 'silent',
      CADUCEUS_RATE_LIMIT: 'off',
      CADUCEUS_MASTER_KEY: testMasterKey,
      ...options.env,
    },
    dir,
  );
  const logger = pino({ level: 'silent' });
  const events = createSecurityEvents(logger);
  const breakers = createBreakers(events);
  const metrics = createMetrics({ breakers });
  const testDatabase = sharing === undefined ? await openTestDatabase(options.database ?? 'sqlite') : undefined;
  const db = testDatabase?.db ?? (await openDatabase(sharing?.databaseUrl ?? ''));
  // Sealed by the master key, as the server and the CLI open it (a CLI run in the same folder shares it).
  const masterKey = (await resolveMasterKey({ ...config.keys.masterKey, production: false }, logger)).key;
  const keys = await openLocalKeyManager({ path: config.keys.keyringPath, masterKey, reloadIntervalMs: 0 });
  const writer = await createAuditLog({
    store: db.audit,
    keys,
    checkpointIntervalMs: config.audit.checkpointIntervalMs,
  });
  const auditEvents: AuditEvent[] = [];
  const audit = {
    ...writer,
    record: async (event: AuditEvent) => {
      if (options.auditFails?.() === true) throw new Error('audit store down');
      auditEvents.push(event);
      await writer.record(event);
    },
  };
  const revocation = createRevocationStore(db.kv, { retentionMs: 86_400_000 });
  const verifier = createTokenVerifier({
    profiles: [localIssuerProfile(config.auth.issuer, keys)],
    audience: config.auth.audience,
    clockSkewSeconds: config.auth.clockSkewSeconds,
    revocation,
  });
  const protection = await openKeyProtection(config, { masterKey, dataKeys: db.dataKeys, breakers, logger });
  const accounts = sharing?.accounts ?? new Map<string, Account>();
  const server = await createAuthorizationServer({
    settings: providerSettingsOf(config),
    state: db.oidc,
    clients: db.clients,
    kv: db.kv,
    sealer: protection.sealer,
    keys,
    accounts: { findAccount: (id) => Promise.resolve(accounts.get(id)) },
    revocation,
    verifier,
    audit,
    headers: securityHeaders,
    // As src/server.ts builds it: the SSRF guard with CADUCEUS_JWKS_FETCH_ALLOW.
    fetch: clientJwksFetch({
      allow: config.oauth.jwksFetchAllow,
      ...(options.jwksCa !== undefined && { ca: options.jwksCa }),
    }),
  });
  const app = await buildApp(config, {
    db,
    audit,
    verifier,
    sealer: protection.sealer,
    logger,
    events,
    breakers,
    metrics,
    definitions: createResourceDefinitions(),
    authorizationServer: server,
  });
  registerTestLogin(app, server);
  t.after(async () => {
    await app.close();
    breakers.shutdown();
    await writer.close().catch(() => undefined);
    await protection.close();
    await keys.close();
    if (testDatabase === undefined) await db.close();
    else await testDatabase.cleanup();
    if (sharing === undefined) await rm(dir, { recursive: true, force: true });
  });
  return {
    app,
    config,
    db,
    keys,
    server,
    revocation,
    auditEvents,
    accounts,
    dir,
    databaseUrl: testDatabase?.url ?? sharing?.databaseUrl ?? '',
    async registerClient(registration) {
      const created = await createClient(db.clients, registration);
      return { clientId: created.client.clientId, secret: created.secret };
    },
  };
}

/** Test-only: finishes the pending interaction as the login pages would after password + MFA. */
function registerTestLogin(app: FastifyInstance, server: MountedAuthorizationServer): void {
  app.post('/interaction/:uid/test-login', { config: { access: 'public' } }, async (request, reply) => {
    const { accountId, amr, acr } = request.query as { accountId: string; amr: string; acr: string };
    const { redirectTo } = await server.finishInteraction(request.raw, reply.raw, {
      accountId,
      amr: amr.split(','),
      acr,
    });
    return reply.redirect(redirectTo, 303);
  });
}
