/**
 * Sensitive operations demand MFA (docs/access-control.md "Sensitive
 * operations demand MFA", RFC 9470): a delete or care-team change with a
 * token whose `amr` shows no second factor answers 401 MFA_REQUIRED with
 * the step-up challenge and changes nothing; the role check comes first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import type { AuditEvent } from '../../../src/audit/event.js';
import { errorCatalogue } from '../../../src/errors/index.js';
import { build, type TestApp } from '../../helpers/app.js';

const base = '/api/v1/patients';
const auth = (token: string) => ({ authorization: `Bearer ${token}` });

function assertStepUp(res: LightMyRequestResponse, what: string): void {
  assert.equal(res.statusCode, 401, `${what}: ${res.body}`);
  assert.equal(
    res.headers['www-authenticate'],
    'Bearer error="insufficient_user_authentication", error_description="A token from multi-factor authentication is required"',
    what,
  );
  assert.deepEqual(
    res.json(),
    {
      error: {
        code: 'MFA_REQUIRED',
        message: errorCatalogue.MFA_REQUIRED.message,
        requestId: String(res.headers['x-request-id']),
      },
    },
    what,
  );
}

async function createPatient(h: TestApp, admin: string): Promise<string> {
  const res = await h.app.inject({
    method: 'POST',
    url: base,
    headers: auth(admin),
    payload: { resourceType: 'Patient', name: [{ family: 'Step' }] },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json<{ id: string }>().id;
}

test('delete without a second factor: 401 insufficient_user_authentication, nothing deleted; with one: 204', async (t) => {
  const h = await build(t);
  const admin = await h.token('admin');
  const id = await createPatient(h, admin);
  const weak: [string, readonly string[]][] = [
    ['no amr', []],
    ['password only', ['pwd']],
    ['password and pin', ['pwd', 'pin', 'kba']],
    ['unregistered value', ['totp']],
  ];
  for (const [what, amr] of weak) {
    assertStepUp(
      await h.app.inject({ method: 'DELETE', url: `${base}/${id}`, headers: auth(await h.token('admin', { amr })) }),
      what,
    );
  }
  // A client's own token authenticates no user: never enough, whatever amr it claims.
  const backend = await h.token('admin', { sub: 'svc-1', clientId: 'svc-1', scopes: ['system/*.cruds'], amr: ['mfa'] });
  assertStepUp(await h.app.inject({ method: 'DELETE', url: `${base}/${id}`, headers: auth(backend) }), 'client token');
  assert.equal(
    (await h.app.inject({ method: 'GET', url: `${base}/${id}`, headers: auth(admin) })).headers.etag,
    'W/"1"',
    'still there, unchanged',
  );

  // The refusal is audited with its code.
  const events = (await h.db.audit.search({ interaction: 'delete', limit: 50 })).map(
    (row) => JSON.parse(row.payload) as AuditEvent,
  );
  assert.equal(
    events.filter((event) => event.outcome.status === 401 && event.outcome.code === 'MFA_REQUIRED').length,
    weak.length + 1,
  );

  for (const amr of [['pwd', 'otp'], ['hwk', 'user'], ['swk'], ['mfa']]) {
    const another = await createPatient(h, admin);
    const res = await h.app.inject({
      method: 'DELETE',
      url: `${base}/${another}`,
      headers: auth(await h.token('admin', { amr })),
    });
    assert.equal(res.statusCode, 204, `${amr.join(',')}: ${res.body}`);
  }
});

test('the role check comes first: a caller who may not delete gets 403, not a step-up hint', async (t) => {
  const h = await build(t);
  const admin = await h.token('admin');
  const id = await createPatient(h, admin);
  for (const role of ['clinician', 'nurse', 'billing', 'auditor'] as const) {
    for (const amr of [[], ['pwd', 'otp']]) {
      const res = await h.app.inject({
        method: 'DELETE',
        url: `${base}/${id}`,
        headers: auth(await h.token(role, { amr })),
      });
      assert.equal(res.statusCode, 403, `${role} ${amr.join(',')}`);
      assert.equal(res.headers['www-authenticate'], undefined);
    }
  }
  // Non-sensitive operations need no second factor.
  const passwordOnly = await h.token('admin', { amr: ['pwd'] });
  assert.equal(
    (await h.app.inject({ method: 'GET', url: `${base}/${id}`, headers: auth(passwordOnly) })).statusCode,
    200,
  );
  assert.equal(
    (await h.app.inject({ method: 'GET', url: '/api/v1/audit-events', headers: auth(passwordOnly) })).statusCode,
    200,
  );
});
