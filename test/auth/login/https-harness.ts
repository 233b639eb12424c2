/**
 * The real server (startServer, in this process) over real TLS on 127.0.0.1,
 * with the authorization server, the user directory and the login pages as
 * production wires them, for openid-client and Chromium. Users and clients
 * are created through a second connection to its database, as the CLI
 * would. Everything stops after the test.
 */
import { request } from 'node:https';
import type { TestContext } from 'node:test';
import type * as client from 'openid-client';
import type { AuditEvent } from '../../../src/audit/event.js';
import { createClient } from '../../../src/auth/oidc/index.js';
import { createUserServices, type UserServices } from '../../../src/auth/users/index.js';
import type { Config } from '../../../src/config/index.js';
import { openDatabase } from '../../../src/storage/open.js';
import type { Database } from '../../../src/storage/ports.js';
import { freeLoopbackPort } from '../../helpers/ports.js';
import { caduceusEnv, processScope, startInProcess } from '../../helpers/process.js';

export interface HttpsLoginServer {
  readonly config: Config;
  /** A second connection to the server's database (an operator's). */
  readonly db: Database;
  readonly users: UserServices;
  /** https://localhost:PORT */
  readonly issuer: string;
  readonly ca: Buffer;
  /** Every durable audit event of every writer so far. */
  auditEvents(): Promise<AuditEvent[]>;
  registerClient(redirectUri: string): Promise<string>;
}

export async function startHttpsLoginServer(
  t: TestContext,
  env: Record<string, string> = {},
): Promise<HttpsLoginServer> {
  const scope = await processScope(t, 'caduceus-login-');
  const port = await freeLoopbackPort();
  const issuer = `https://localhost:${port}`;
  const server = await startInProcess(
    scope,
    caduceusEnv(scope.dir, {
      CADUCEUS_PORT: String(port),
      CADUCEUS_ISSUER: issuer,
      CADUCEUS_RATE_LIMIT: 'off',
      CADUCEUS_ARGON2_MEMORY_KIB: '8192',
      CADUCEUS_ARGON2_TIME_COST: '1',
      // No CPU budget: a loaded test machine stretches hash times, and these tests are not about shedding (hash-shedding.test.ts is).
      CADUCEUS_PASSWORD_HASH_CPU_PERCENT: '0',
      ...env,
    }),
  );
  const db = await openDatabase(server.config.databaseUrl);
  scope.defer(() => db.close());
  const users = createUserServices({ settings: server.config.users, fips: false, db });
  return {
    config: server.config,
    db,
    users,
    issuer,
    ca: server.ca,
    async auditEvents() {
      const events: AuditEvent[] = [];
      for (const { writerId } of await db.audit.writers()) {
        for (const row of await db.audit.read({ writerId, limit: 100_000 }))
          if (row.kind === 'event') events.push(JSON.parse(row.payload) as AuditEvent);
      }
      return events;
    },
    async registerClient(redirectUri) {
      const created = await createClient(db.clients, {
        name: 'Ward app',
        role: 'clinician',
        authMethod: 'none',
        grantTypes: ['authorization_code'],
        redirectUris: [redirectUri],
        scope: 'openid offline_access user/*.rs',
      });
      return created.client.clientId;
    },
  };
}

/** openid-client's customFetch over node:https, trusting only the server's development certificate. */
export function httpsFetch(ca: Buffer): client.CustomFetch {
  return (url, options) =>
    new Promise((resolve, reject) => {
      const target = new URL(url);
      const headers = new Headers(options.headers);
      const req = request(
        {
          host: '127.0.0.1',
          servername: 'localhost',
          port: Number(target.port),
          path: `${target.pathname}${target.search}`,
          // Host names the issuer's host (localhost:PORT), as a client resolving it would send; the provider builds its endpoint URLs from it.
          method: options.method,
          headers: { ...Object.fromEntries(headers), host: target.host },
          ca,
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
          });
          res.on('error', reject);
          res.on('end', () => {
            const responseHeaders = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value])
                responseHeaders.append(name, item);
            }
            const status = res.statusCode ?? 500;
            resolve(
              new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), {
                status,
                headers: responseHeaders,
              }),
            );
          });
        },
      );
      req.on('error', reject);
      req.end(
        options.body === undefined || options.body === null
          ? undefined
          : String(options.body as string | URLSearchParams),
      );
    });
}
