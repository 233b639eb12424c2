/**
 * CADUCEUS_KEY_MANAGER=pkcs11 end to end over HTTP: the app the server would
 * build seals every body under data keys wrapped by a KEK on a SoftHSM2
 * token (docs/key-management.md, docs/hsm.md).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/app.js';
import { setUpSoftHsm, softhsmSkip } from '../helpers/softhsm.js';

const skip = await softhsmSkip();
const hsm = skip === false ? await setUpSoftHsm() : undefined;
after(() => hsm?.cleanup());

test('pkcs11: records are sealed under a data key wrapped by an HSM KEK, and read back', { skip }, async (t) => {
  const token = await hsm!.createToken();
  const h = await build(t, {
    env: {
      CADUCEUS_KEY_MANAGER: 'pkcs11',
      CADUCEUS_PKCS11_MODULE: hsm!.modulePath,
      CADUCEUS_PKCS11_TOKEN_LABEL: token.label,
      CADUCEUS_PKCS11_PIN: token.pin,
    },
  });
  assert.equal(h.config.keys.manager, 'pkcs11');
  const bearer = { authorization: `Bearer ${await h.token('clinician')}` };
  const created = await h.app.inject({
    method: 'POST',
    url: '/api/v1/patients',
    headers: bearer,
    payload: { resourceType: 'Patient', name: [{ family: 'Hsmmarker' }] },
  });
  assert.equal(created.statusCode, 201, created.body);
  const id = created.json<{ id: string }>().id;
  const read = await h.app.inject({ method: 'GET', url: `/api/v1/patients/${id}`, headers: bearer });
  assert.equal(read.json<{ name: { family: string }[] }>().name[0]?.family, 'Hsmmarker');
  const [dataKey, ...others] = await h.db.dataKeys.list();
  assert.equal(others.length, 0);
  assert.match(dataKey?.kekId ?? '', /^hsm-\d{13}-[0-9a-f]{8}$/, 'wrapped by a KEK on the token');
  const stored = await h.db.resources.readCurrent('Patient', id);
  assert.ok(stored?.body && !Buffer.from(stored.body).includes('Hsmmarker'));
});
