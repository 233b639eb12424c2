/**
 * Two server instances on one PostgreSQL (each its own pool, provider and
 * caches; shared keyring and master key, as two processes of one deployment
 * share them): log in on one, use and refresh the token on the other, replay
 * the old refresh token on either, and race one refresh token on both.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import * as client from 'openid-client';
import { postgresSkip } from '../../helpers/database.js';
import { buildOAuthApp } from './harness.js';
import { discover } from './http.js';
import { addClinician, apiStatus, codeClient, login } from './fixtures.js';

/** Two apps on one PostgreSQL schema, a code client seen from both, and a clinician logged in on A. */
async function loggedInOnA(t: TestContext) {
  const a = await buildOAuthApp(t, { database: 'postgres' });
  const b = await buildOAuthApp(t, { sharing: a });
  addClinician(a);
  const { config: onA, clientId, secret } = await codeClient(a);
  const onB = await discover(b.app, b.config.auth.issuer, clientId, client.ClientSecretBasic(secret));
  return { a, b, onA, onB, first: await login(a, onA) };
}

describe('two processes on one PostgreSQL', async () => {
  const skip = await postgresSkip();

  test('log in on A, use and refresh on B, replay on A: the grant ends on both', { skip }, async (t) => {
    const { a, b, onA, onB, first } = await loggedInOnA(t);
    assert.equal(await apiStatus(b, first.access_token), 200);
    const second = await client.refreshTokenGrant(onB, first.refresh_token ?? '');
    assert.equal(await apiStatus(a, second.access_token), 200);
    await assert.rejects(
      client.refreshTokenGrant(onA, first.refresh_token ?? ''),
      (error: client.ResponseBodyError) => error.error === 'invalid_grant',
    );
    assert.equal(await apiStatus(a, second.access_token), 401);
    assert.equal(await apiStatus(b, second.access_token), 401);
    await assert.rejects(
      client.refreshTokenGrant(onB, second.refresh_token ?? ''),
      (error: client.ResponseBodyError) => error.error === 'invalid_grant',
    );
  });

  test(
    'one refresh token redeemed on A and B at once: exactly one wins, and the grant is revoked',
    { skip },
    async (t) => {
      const { b, onA, onB, first } = await loggedInOnA(t);
      const outcomes = await Promise.allSettled([
        client.refreshTokenGrant(onA, first.refresh_token ?? ''),
        client.refreshTokenGrant(onB, first.refresh_token ?? ''),
      ]);
      const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
      const lost = outcomes.filter((outcome) => outcome.status === 'rejected');
      assert.equal(won.length, 1);
      assert.equal(lost.length, 1);
      assert.equal((lost[0]?.reason as client.ResponseBodyError).error, 'invalid_grant');
      // The second redemption is a replay: the winner's new tokens end with the grant.
      const winner = won[0]?.value;
      assert.ok(winner !== undefined);
      assert.equal(await apiStatus(b, winner.access_token), 401);
      await assert.rejects(
        client.refreshTokenGrant(onA, winner.refresh_token ?? ''),
        (error: client.ResponseBodyError) => error.error === 'invalid_grant',
      );
    },
  );
});
