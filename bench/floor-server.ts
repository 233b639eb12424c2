/**
 * The floor of `npm run bench`: the least work an authenticated, encrypted,
 * audited read must do, on the same Fastify, TLS 1.3 certificate and
 * request as Caduceus, with nothing else. Not a server anyone should run:
 * a ruler for how close to the bare route a read can come on this machine
 * (bench/README.md "The floor").
 *
 * Per request: the six security headers; the bearer token hashed and looked
 * up in a map (what the gate's verified-token cache does when it hits); the
 * record's AES-256-GCM body opened with its AAD and parsed; an audit event
 * recorded by Caduceus's own audit writer (canonical JSON, SHA-256 chain,
 * group commit on its append worker, synchronous=FULL) and durable before
 * the answer leaves; the answer with its ETag.
 *
 * With the argument `unindexed`, the audit table lacks the indexes the
 * audit-event search needs (time, subject, source address, resource).
 *
 * Left out, though Caduceus must do them: token signature and revocation
 * checks on a miss, rate limits, edge filters, the access rules and care
 * team, validation of the URL, metrics, monitoring, the request id, and a
 * database read.
 */
import { createCipheriv, createDecipheriv, hash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { createAuditLog } from '../src/audit/writer.js';
import { securityHeaders } from '../src/edge/security-headers.js';
import { openLocalKeyManager } from '../src/keys/local/local-key-manager.js';
import { SqliteAuditStore } from '../src/storage/sqlite/audit-store.js';
import { openSqliteConnection } from '../src/storage/sqlite/connection.js';
import { migrateSqlite } from '../src/storage/sqlite/migrate.js';
import { sqliteAuditMigrations } from '../src/storage/sqlite/migrations.js';

const [certPath = '', keyPath = '', variant = 'indexed'] = process.argv.slice(2);
const dir = mkdtempSync(path.join(tmpdir(), 'caduceus-bench-floor-'));
const auditFile = path.join(dir, 'audit.db');
const auditDb = openSqliteConnection(auditFile);
migrateSqlite(auditDb, sqliteAuditMigrations);
if (variant === 'unindexed') {
  // The audit table without the indexes that `GET /api/v1/audit-events` searches by: how much of the floor they are.
  const indexes = auditDb
    .prepare<[], string>(
      "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_log' AND sql IS NOT NULL",
    )
    .pluck()
    .all();
  for (const name of indexes) auditDb.exec(`DROP INDEX "${name}"`);
}
// Caduceus's own audit writer (group commit, hash chain, signed checkpoints) on its own append worker.
const keys = await openLocalKeyManager({ path: path.join(dir, 'keyring.json') });
const auditStore = new SqliteAuditStore(auditDb, auditFile, 5000);
const audit = await createAuditLog({ store: auditStore, keys, checkpointIntervalMs: 60_000 });

const key = randomBytes(32);
const nonce = randomBytes(12);
const aad = Buffer.from('Patient/bench/1');
const plaintext = JSON.stringify({
  resourceType: 'Patient',
  id: 'bench',
  meta: { versionId: '1', lastUpdated: new Date().toISOString() },
  name: [{ family: 'Chalmers', given: ['Peter', 'James'] }],
  gender: 'male',
  birthDate: '1974-12-25',
});
const cipher = createCipheriv('aes-256-gcm', key, nonce).setAAD(aad);
const sealed = Buffer.concat([cipher.update(plaintext), cipher.final()]);
const tag = cipher.getAuthTag();

interface Principal {
  readonly sub: string;
  readonly exp: number;
}
const verified = new Map<string, Principal>();

const app = Fastify({ https: { cert: readFileSync(certPath), key: readFileSync(keyPath), minVersion: 'TLSv1.3' } });
app.decorateRequest('principal', null);
app.addHook('onRequest', (request, reply, done) => {
  void reply.headers(securityHeaders);
  const tokenKey = hash('sha256', request.headers.authorization ?? '', 'base64url');
  let principal = verified.get(tokenKey);
  if (principal === undefined) {
    principal = { sub: 'bench', exp: Date.now() + 3_600_000 };
    verified.set(tokenKey, principal);
  }
  if (principal.exp < Date.now()) {
    void reply.code(401).send();
    return;
  }
  (request as unknown as { principal: Principal }).principal = principal;
  done();
});
app.get<{ Params: { id: string } }>('/api/v1/patients/:id', async (request, reply) => {
  const decipher = createDecipheriv('aes-256-gcm', key, nonce).setAAD(aad).setAuthTag(tag);
  const body = JSON.parse(Buffer.concat([decipher.update(sealed), decipher.final()]).toString('utf8')) as unknown;
  const { sub } = (request as unknown as { principal: Principal }).principal;
  await audit.record({
    time: new Date().toISOString(),
    requestId: request.id,
    category: 'api',
    actor: { subject: sub, client: null, role: 'clinician', sourceIp: request.ip },
    action: { interaction: 'read', resourceType: 'Patient', resourceId: request.params.id },
    outcome: { status: 200, code: null },
  });
  void reply.header('etag', 'W/"1"').type('application/fhir+json; charset=utf-8');
  return body;
});
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ event: 'bare.listening', url: address })}\n`);
process.once('SIGTERM', () => {
  void app
    .close()
    .then(() => audit.close())
    .then(() => auditStore.close())
    .then(() => keys.close())
    .then(() => {
      auditDb.close();
    })
    .finally(() => {
      rmSync(dir, { recursive: true, force: true });
    });
});
