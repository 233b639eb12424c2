/**
 * KEK rotation on a PKCS#11 HSM (SoftHSM2; docs/hsm.md, docs/key-management.md
 * "Rotation"): `caduceus keys rotate --kek` generates a new key on the token,
 * sensitive and never extractable, re-wraps every data key under it and
 * keeps the old KEK; a server started afterwards reads every record through
 * the new KEK.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import pkcs11js from 'pkcs11js';
import { kekLabelPrefix } from '../../src/keys/pkcs11/index.js';
import type { KeyStatus } from '../../src/rotation/index.js';
import { caduceusEnv, httpsRequest, processScope, runCliProcess, signToken, spawnServer } from '../helpers/process.js';
import { openRawSession, setUpSoftHsm, softhsmSkip } from '../helpers/softhsm.js';

const skip = await softhsmSkip();
const hsm = skip === false ? await setUpSoftHsm() : undefined;
after(() => hsm?.cleanup());

test(
  'pkcs11: keys rotate --kek makes a non-extractable KEK on the token, re-wraps every data key, and records stay readable',
  { skip, timeout: 120_000 },
  async (t) => {
    const scope = await processScope(t);
    const token = await hsm!.createToken();
    const env = caduceusEnv(scope.dir, {
      CADUCEUS_KEY_MANAGER: 'pkcs11',
      CADUCEUS_PKCS11_MODULE: hsm!.modulePath,
      CADUCEUS_PKCS11_TOKEN_LABEL: token.label,
      CADUCEUS_PKCS11_PIN: token.pin,
      CADUCEUS_LOG_LEVEL: 'info',
      CADUCEUS_DATA_KEY_REFRESH_MS: '200',
      SOFTHSM2_CONF: process.env.SOFTHSM2_CONF ?? '',
    });
    const first = await spawnServer(scope, env);
    const bearer = await signToken(first.config, 'clinician');
    const ids: string[] = [];
    for (const family of ['Hsmone', 'Hsmtwo', 'Hsmthree']) {
      const created = await httpsRequest(`${first.url}/api/v1/patients`, first.ca, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/fhir+json' },
        body: JSON.stringify({ resourceType: 'Patient', name: [{ family }] }),
      });
      assert.equal(created.status, 201, created.body);
      ids.push(String(created.headers.location).split('/').pop() ?? '');
    }
    // Two data keys, so there is more than one thing to re-wrap.
    const data = await runCliProcess(scope, env, ['keys', 'rotate', '--data', '--json'], 60_000);
    assert.equal(data.code, 0, data.stderr);

    const kek = await runCliProcess(scope, env, ['keys', 'rotate', '--kek', '--json'], 60_000);
    assert.equal(kek.code, 0, kek.stderr);
    const [outcome] = (
      JSON.parse(kek.stdout) as {
        rotated: { kind: string; keyId: string; moved: number; remaining: number; retiredKeyIds: string[] }[];
      }
    ).rotated;
    assert.equal(outcome?.kind, 'kek');
    assert.match(outcome.keyId, /^hsm-\d{13}-[0-9a-f]{8}$/);
    assert.deepEqual([outcome.remaining, outcome.retiredKeyIds.length], [0, 1]);

    const statusRun = await runCliProcess(scope, env, ['keys', 'status', '--json']);
    assert.equal(statusRun.code, 0, statusRun.stderr);
    const status = JSON.parse(statusRun.stdout) as KeyStatus;
    const indexKeys = status.indexKeys.length;
    assert.ok(indexKeys >= 1, 'the server made a blind-index key, wrapped by the same KEK');
    assert.equal(outcome.moved, 2 + indexKeys, 'both data keys and every index key re-wrapped');
    assert.deepEqual(
      status.keks.map((entry) => [entry.id, entry.state, entry.dataKeys, entry.indexKeys]),
      [
        [outcome.keyId, 'current', 2, indexKeys],
        [outcome.retiredKeyIds[0], 'retired', 0, 0],
      ],
    );
    assert.equal(status.keks[0]?.records, 3);

    // A new server process has no data key in memory: it unwraps them under the new KEK on the token.
    first.child.kill('SIGTERM');
    await first.exited;
    const second = await spawnServer(scope, env);
    for (const id of ids) {
      const read = await httpsRequest(`${second.url}/api/v1/patients/${id}`, second.ca, {
        headers: { authorization: `Bearer ${bearer}` },
      });
      assert.equal(read.status, 200, read.body);
    }
    second.child.kill('SIGTERM');
    await second.exited;

    // From outside the adapter: both KEKs are on the token; the new one is sensitive and was never extractable.
    const raw = openRawSession(hsm!.modulePath, token);
    try {
      for (const id of [outcome.keyId, outcome.retiredKeyIds[0] ?? ''])
        assert.equal(raw.findByLabel(`${kekLabelPrefix}${id}`).length, 1, id);
      const [handle] = raw.findByLabel(`${kekLabelPrefix}${outcome.keyId}`);
      assert.ok(handle !== undefined);
      assert.deepEqual([...raw.attribute(handle, pkcs11js.CKA_SENSITIVE)], [1]);
      assert.deepEqual([...raw.attribute(handle, pkcs11js.CKA_EXTRACTABLE)], [0]);
      assert.deepEqual([...raw.attribute(handle, pkcs11js.CKA_NEVER_EXTRACTABLE)], [1]);
    } finally {
      raw.close();
    }
  },
);
