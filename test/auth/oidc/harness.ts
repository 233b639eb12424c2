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
import type { AuditEvent, AuditLog } from '../../../src/audit/event.js';
import {
  createClient,
  type Account,
  type ClientRegistration,
  type MountedAuthorizationServer,
} from '../../../src/auth/oidc/index.js';
import type { RevocationStore } from '../../../src/auth/revocation.js';
import { loadConfig, type Config } from '../../../src/config/index.js';
import type { RotatingKeyManager } from '../../../src/keys/ports.js';
import { createServices } from '../../../src/services.js';
import type { Database } from '../../../src/storage/ports.js';
import { dropPostgresSchema, testPostgresBaseUrl, uniqueSchemaName, withSchema } from '../../helpers/database.js';
import { testMasterKey } from '../../helpers/process.js';

export interface OAuthTestApp {
  readonly app: FastifyInstance;
  readonly config: Config;
  readonly db: Database;
  readonly keys: RotatingKeyManager;
  readonly server: MountedAuthorizationServer;
  readonly revocation: RevocationStore;
  /** Every audit event recorded so far. */
  readonly auditEvents: readonly AuditEvent[];
  /** The accounts findAccount sees; tests add and disable them. */
  readonly accounts: Map<string, Account>;
  readonly databaseUrl: string;
  readonly dir: string;
  /** How the apps sharing this one's database close; they close before it. */
  readonly sharers: (() => Promise<void>)[];
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

/** Builds the server's app (src/services.ts) with accounts of the test's own; closed after the test. */
export async function buildOAuthApp(t: TestContext, options: OAuthBuildOptions = {}): Promise<OAuthTestApp> {
  const sharing = options.sharing;
  const dir = sharing?.dir ?? (await mkdtemp(path.join(tmpdir(), 'caduceus-oauth-')));
  const schema = sharing === undefined && options.database === 'postgres' ? uniqueSchemaName() : null;
  const databaseUrl =
    sharing?.databaseUrl ??
    (schema === null ? path.join(dir, 'caduceus.db') : withSchema(testPostgresBaseUrl(), schema));
  const config = loadConfig(
    {
      CADUCEUS_DATA_DIR: dir,
      CADUCEUS_DATABASE_URL: databaseUrl,
      CADUCEUS_LOG_LEVEL: 'silent',
      CADUCEUS_RATE_LIMIT: 'off',
      CADUCEUS_MASTER_KEY: testMasterKey,
      ...options.env,
    },
    dir,
  );
  // The first "process" owns the folder and the schema; a sharing one leaves them to it.
  const removeAll = async (): Promise<void> => {
    if (sharing !== undefined) return;
    if (schema !== null) await dropPostgresSchema(schema);
    await rm(dir, { recursive: true, force: true });
  };
  const auditEvents: AuditEvent[] = [];
  const accounts = sharing?.accounts ?? new Map<string, Account>();
  const services = await createServices(config, {
    logger: pino({ level: 'silent' }),
    accounts: { findAccount: (id) => Promise.resolve(accounts.get(id)) },
    wrapAudit: (writer: AuditLog): AuditLog => ({
      ...writer,
      record: async (event: AuditEvent) => {
        if (options.auditFails?.() === true) throw new Error('audit store down');
        auditEvents.push(event);
        await writer.record(event);
      },
    }),
    ...(options.jwksCa !== undefined && { clientJwksCa: options.jwksCa }),
  }).catch(async (error: unknown) => {
    await removeAll();
    throw error;
  });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= services.close());
  const sharers: (() => Promise<void>)[] = [];
  sharing?.sharers.push(close);
  t.after(async () => {
    // Apps sharing this one's database close before it is dropped.
    for (const closeSharer of sharers) await closeSharer();
    await close();
    await removeAll();
  });
  const { db, authorizationServer: server } = services;
  const app = await services.startup.open(
    'app',
    () => buildApp(config, services.appDependencies),
    (built) => built.close(),
  );
  registerTestLogin(app, server);
  return {
    app,
    config,
    db,
    keys: services.signingKeys,
    server,
    revocation: services.revocation,
    auditEvents,
    accounts,
    dir,
    databaseUrl,
    sharers,
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
