import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../../src/app.js';
import type { AuditLog } from '../../src/audit/event.js';
import { createAuditLog } from '../../src/audit/writer.js';
import { issueAccessToken } from '../../src/auth/issue-token.js';
import { localIssuerProfile } from '../../src/auth/issuer-profile.js';
import type { Role } from '../../src/auth/principal.js';
import { createRevocationStore } from '../../src/auth/revocation.js';
import { createTokenVerifier } from '../../src/auth/verify-token.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { createBreakers, type Breakers } from '../../src/gateway/circuit-breaker.js';
import { identitySealer } from '../../src/keys/identity-sealer.js';
import { createSecurityEvents, type SecurityEvent, type SecurityEvents } from '../../src/monitoring/security-events.js';
import { openLocalKeyManager, type LocalKeyManager } from '../../src/keys/local/index.js';
import type { Sealer } from '../../src/keys/ports.js';
import { createResourceDefinitions } from '../../src/resources/index.js';
import type { Database } from '../../src/storage/ports.js';
import { openTestDatabase } from './database.js';

export interface TestApp {
  readonly app: FastifyInstance;
  readonly config: Config;
  readonly db: Database;
  /** What the database was opened with: a SQLite file path or a postgres:// URL. */
  readonly databaseUrl: string;
  readonly keys: LocalKeyManager;
  readonly audit: AuditLog & { readonly writerId: string };
  readonly dir: string;
  readonly revocation: ReturnType<typeof createRevocationStore>;
  /** The app's security-event stream, and every event it has emitted so far. */
  readonly events: SecurityEvents;
  readonly securityEvents: readonly SecurityEvent[];
  readonly breakers: Breakers;
  /** Signs an access token as the server would (the CLI's path). */
  token(role: Role, options?: { sub?: string; patient?: string; ttlSeconds?: number }): Promise<string>;
}

export interface BuildOptions {
  readonly database?: 'sqlite' | 'postgres';
  readonly env?: Record<string, string>;
  readonly sealer?: Sealer;
  /** Wraps the audit log, e.g. to make it fail. */
  readonly wrapAudit?: (audit: AuditLog) => AuditLog;
}

/** Builds the real app on a real database, keyring and audit log; everything is closed after the test. */
export async function build(t: TestContext, options: BuildOptions = {}): Promise<TestApp> {
  const dir = await mkdtemp(path.join(tmpdir(), 'caduceus-test-'));
  const config = loadConfig({ CADUCEUS_DATA_DIR: dir, CADUCEUS_LOG_LEVEL: 'silent', ...options.env }, dir);
  const testDatabase = await openTestDatabase(options.database ?? 'sqlite');
  const { db } = testDatabase;
  const keys = await openLocalKeyManager({ path: config.keys.keyringPath });
  const audit = await createAuditLog({ store: db.audit, keys, checkpointIntervalMs: config.audit.checkpointIntervalMs });
  const revocation = createRevocationStore(db.kv, { retentionMs: 86_400_000 });
  const verifier = createTokenVerifier({
    profiles: [localIssuerProfile(config.auth.issuer, keys)],
    audience: config.auth.audience,
    clockSkewSeconds: config.auth.clockSkewSeconds,
    revocation,
  });
  const logger = pino({ level: 'silent' });
  const events = createSecurityEvents(logger);
  const securityEvents: SecurityEvent[] = [];
  events.subscribe((event) => { securityEvents.push(event); });
  const breakers = createBreakers(events);
  const app = await buildApp(config, {
    db,
    audit: options.wrapAudit ? options.wrapAudit(audit) : audit,
    verifier,
    sealer: options.sealer ?? identitySealer,
    logger,
    events,
    breakers,
    definitions: createResourceDefinitions(),
  });
  t.after(async () => {
    await app.close();
    breakers.shutdown();
    await audit.close().catch(() => undefined);
    await keys.close();
    await testDatabase.cleanup();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    app, config, db, databaseUrl: testDatabase.url, keys, audit, dir, revocation, events, securityEvents, breakers,
    async token(role, tokenOptions = {}) {
      const issued = await issueAccessToken(keys, {
        issuer: config.auth.issuer,
        audience: config.auth.audience,
        subject: tokenOptions.sub ?? `test-${role}`,
        clientId: 'test-client',
        role,
        scopes: ['user/*.cruds'],
        ttlSeconds: tokenOptions.ttlSeconds ?? 600,
        ...(tokenOptions.patient !== undefined && { patient: tokenOptions.patient }),
      });
      return issued.token;
    },
  };
}
