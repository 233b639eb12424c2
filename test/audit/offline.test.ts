import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { publicKeysFromJwks } from '../../src/audit/public-keys.js';
import { verifyAuditLog } from '../../src/audit/verify.js';
import { createAuditLog } from '../../src/audit/writer.js';
import { openDatabase } from '../../src/storage/open.js';
import { makeEvent, openAuditDatabase, openTestKeys } from './fixtures.js';

test('the verifier needs only the database file and an exported JWK Set', async (t) => {
  const { db, url } = await openAuditDatabase(t, 'sqlite');
  const keys = await openTestKeys(t);
  const log = await createAuditLog({ store: db.audit, keys, checkpointIntervalMs: 3_600_000 });
  await log.record(makeEvent(1));
  await log.close();
  const jwks = JSON.stringify({
    keys: (await keys.publicKeys('audit-signing')).map(({ kid, alg, key }) => ({
      ...key.export({ format: 'jwk' }),
      kid,
      alg,
    })),
  });
  await keys.close();

  // A second, independent connection: what an operator's offline `verify` would open.
  const offline = await openDatabase(url);
  t.after(() => offline.close());
  const report = await verifyAuditLog({
    store: offline.audit,
    publicKeys: publicKeysFromJwks(JSON.parse(jwks)),
    openWriterGraceMs: 0,
  });
  assert.equal(report.ok, true, JSON.stringify(report.firstBad));
  assert.equal(report.writers[0]!.rows, 3);
});

test('a JWK Set is refused without kid or alg, with a private key, or when malformed', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pub = publicKey.export({ format: 'jwk' });
  assert.equal(publicKeysFromJwks({ keys: [{ ...pub, kid: 'k1', alg: 'ES256' }] })[0]!.kid, 'k1');
  assert.throws(() => publicKeysFromJwks({ keys: [{ ...pub, alg: 'ES256' }] }), /kid is required/);
  assert.throws(() => publicKeysFromJwks({ keys: [{ ...pub, kid: 'k1', alg: 'HS256' }] }), /alg must be/);
  assert.throws(
    () => publicKeysFromJwks({ keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256' }] }),
    /private key/,
  );
  assert.throws(() => publicKeysFromJwks({}), /not a JWK Set/);
  assert.throws(() => publicKeysFromJwks(null), /not a JWK Set/);
});
