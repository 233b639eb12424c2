import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { base64url, decodeJwt, decodeProtectedHeader } from 'jose';
import type { IssuerProfile } from '../../src/auth/issuer-profile.js';
import { maxTokenLength } from '../../src/auth/token-parts.js';
import {
  assertRefused,
  audience,
  craftToken,
  goodClaims,
  issuer,
  keyringSigner,
  openTokenWorld,
  signedToken,
  start,
  strangerSigner,
} from './token-fixtures.js';

test('a valid access token yields the Principal it proves', async (t) => {
  const world = await openTokenWorld(t);
  const claims: Record<string, unknown> = {
    ...goodClaims(),
    aud: ['https://other.example', audience],
    patient: 'p-123',
    grant_id: 'grant-9',
    amr: ['pwd', 'otp'],
    acr: 'urn:mace:incommon:iap:silver',
    cnf: { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' },
    nbf: Math.floor(start / 1000) - 10,
  };
  const principal = await world.verifier.verify(await signedToken(world, claims));
  assert.deepEqual(
    { ...principal },
    {
      subject: 'user-1',
      clientId: 'client-1',
      role: 'clinician',
      scopes: ['user/Patient.rs', 'openid'],
      patient: 'p-123',
      grantId: 'grant-9',
      amr: ['pwd', 'otp'],
      acr: 'urn:mace:incommon:iap:silver',
      certificateThumbprint: 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2',
      tokenId: claims.jti,
      issuer,
      issuedAt: claims.iat,
      expiresAt: claims.exp,
    },
  );
  assert.ok(Object.isFrozen(principal) && Object.isFrozen(principal.scopes));
});

test('optional claims default to null or empty, and sid stands in for grant_id', async (t) => {
  const world = await openTokenWorld(t);
  const claims = { ...goodClaims(), sid: 'session-4', scope: undefined };
  const principal = await world.verifier.verify(await signedToken(world, claims));
  assert.deepEqual(
    [
      principal.scopes,
      principal.patient,
      principal.grantId,
      principal.amr,
      principal.acr,
      principal.certificateThumbprint,
    ],
    [[], null, 'session-4', [], null, null],
  );
});

test('typ: at+jwt is matched case-insensitively, with or without application/', async (t) => {
  const world = await openTokenWorld(t);
  for (const typ of ['AT+JWT', 'application/at+jwt', 'Application/At+Jwt']) {
    const principal = await world.verifier.verify(await signedToken(world, goodClaims(), { typ }));
    assert.equal(principal.subject, 'user-1');
  }
});

test('a token of the wrong type is refused; JWT only where the profile allows it', async (t) => {
  const world = await openTokenWorld(t);
  for (const typ of ['JWT', 'id+jwt', 'application/jwt', 'at+jwt+x', 42]) {
    const token = await signedToken(world, goodClaims(), { typ });
    await assertRefused(world.verifier.verify(token), 'bad_type', token);
  }
  const untyped = await signedToken(world, goodClaims(), { typ: undefined });
  await assertRefused(world.verifier.verify(untyped), 'bad_type', untyped);

  const lenient: IssuerProfile = { ...world.profile, typ: ['at+jwt', 'JWT'] };
  const verifier = world.verifierWith({ profiles: [lenient] });
  assert.equal((await verifier.verify(await signedToken(world, goodClaims(), { typ: 'JWT' }))).subject, 'user-1');
  await assertRefused(verifier.verify(await signedToken(world, goodClaims(), { typ: 'id+jwt' })), 'bad_type');
});

test('alg none is refused, with or without a signature segment', async (t) => {
  const world = await openTokenWorld(t);
  const { kid } = await world.keys.currentKey('token-signing');
  const unsigned = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid }))}.${base64url.encode(JSON.stringify(goodClaims()))}.`;
  await assertRefused(world.verifier.verify(unsigned), 'malformed', unsigned);
  const junk = `${unsigned}AAAA`;
  await assertRefused(world.verifier.verify(junk), 'bad_algorithm', junk);
  const noneUpper = await craftToken({ alg: 'NONE', typ: 'at+jwt', kid }, goodClaims(), () => new Uint8Array([1]));
  await assertRefused(world.verifier.verify(noneUpper), 'bad_algorithm');
});

test('HS256 signed with the public key bytes (algorithm confusion) is refused', async (t) => {
  const world = await openTokenWorld(t);
  const [key] = await world.keys.publicKeys('token-signing');
  const secrets = [key!.key.export({ format: 'pem', type: 'spki' }), key!.key.export({ format: 'der', type: 'spki' })];
  for (const secret of secrets) {
    for (const alg of ['HS256', 'HS384', 'HS512']) {
      const token = await craftToken({ alg, typ: 'at+jwt', kid: key!.kid }, goodClaims(), (input) =>
        createHmac(`sha${alg.slice(2)}`, secret)
          .update(input)
          .digest(),
      );
      await assertRefused(world.verifier.verify(token), 'bad_algorithm', token);
    }
  }
});

test('an algorithm outside the profile is refused even with a matching key', async (t) => {
  const world = await openTokenWorld(t);
  const token = await signedToken(world, goodClaims(), { alg: 'RS256' });
  await assertRefused(world.verifier.verify(token), 'bad_algorithm', token);
});

test('headers that bring their own key or change processing are refused', async (t) => {
  const world = await openTokenWorld(t);
  const stranger = strangerSigner();
  const jwk = stranger.publicKey.export({ format: 'jwk' });
  const cases: Record<string, unknown>[] = [
    { jwk },
    { jku: 'https://attacker.example/jwks' },
    { x5u: 'https://attacker.example/cert' },
    { x5c: ['MIIB'] },
    { crit: ['exp'] },
    { b64: false },
  ];
  for (const extra of cases) {
    const token = await signedToken(world, goodClaims(), extra);
    await assertRefused(world.verifier.verify(token), 'forbidden_header', token);
  }
});

test('an unknown or missing kid is refused', async (t) => {
  const world = await openTokenWorld(t);
  const unknown = await signedToken(world, goodClaims(), { kid: 'no-such-key' });
  await assertRefused(world.verifier.verify(unknown), 'unknown_key', unknown);
  const missing = await signedToken(world, goodClaims(), { kid: undefined });
  await assertRefused(world.verifier.verify(missing), 'unknown_key', missing);
});

test('a tampered payload or signature is refused', async (t) => {
  const world = await openTokenWorld(t);
  const token = await signedToken(world, goodClaims());
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload))) as Record<string, unknown>;
  const escalated = `${header}.${base64url.encode(JSON.stringify({ ...claims, role: 'admin' }))}.${signature}`;
  await assertRefused(world.verifier.verify(escalated), 'bad_signature', escalated);
  // Flip a character in the middle: the last one may only carry padding bits.
  const middle = Math.floor(signature.length / 2);
  const flipped = `${signature.slice(0, middle)}${signature[middle] === 'A' ? 'B' : 'A'}${signature.slice(middle + 1)}`;
  const forged = `${header}.${payload}.${flipped}`;
  await assertRefused(world.verifier.verify(forged), 'bad_signature', forged);
  assert.equal((await world.verifier.verify(token)).subject, 'user-1', 'the original still verifies');
});

test('a token signed by another key under a known kid is refused', async (t) => {
  const world = await openTokenWorld(t);
  const { kid } = await world.keys.currentKey('token-signing');
  const token = await craftToken({ alg: 'ES256', typ: 'at+jwt', kid }, goodClaims(), strangerSigner().signer);
  await assertRefused(world.verifier.verify(token), 'bad_signature', token);
});

test('issuer and audience must match exactly', async (t) => {
  const world = await openTokenWorld(t);
  for (const iss of ['https://evil.example', `${issuer}/`, issuer.toUpperCase(), undefined, 7]) {
    const token = await signedToken(world, { ...goodClaims(), iss });
    await assertRefused(world.verifier.verify(token), 'unknown_issuer', token);
  }
  for (const aud of ['https://other.example', [`${audience}/`], []]) {
    const token = await signedToken(world, { ...goodClaims(), aud });
    await assertRefused(world.verifier.verify(token), 'bad_audience', token);
  }
  await assertRefused(
    world.verifier.verify(await signedToken(world, { ...goodClaims(), aud: undefined })),
    'missing_claim',
  );
});

test('expiry, not-before and issued-at are enforced with the clock skew', async (t) => {
  const world = await openTokenWorld(t);
  const now = Math.floor(start / 1000);
  const expired = await signedToken(world, { ...goodClaims(), iat: now - 600, exp: now - 31 });
  await assertRefused(world.verifier.verify(expired), 'expired', expired);
  const withinSkew = await signedToken(world, { ...goodClaims(), iat: now - 600, exp: now - 29 });
  assert.equal((await world.verifier.verify(withinSkew)).subject, 'user-1');

  const early = await signedToken(world, { ...goodClaims(), nbf: now + 31 });
  await assertRefused(world.verifier.verify(early), 'not_yet_valid', early);
  assert.equal(
    (await world.verifier.verify(await signedToken(world, { ...goodClaims(), nbf: now + 29 }))).subject,
    'user-1',
  );

  const future = await signedToken(world, { ...goodClaims(), iat: now + 31, exp: now + 600 });
  await assertRefused(world.verifier.verify(future), 'issued_in_future', future);
  await assertRefused(
    world.verifier.verify(await signedToken(world, { ...goodClaims(), exp: '9999999999' })),
    'bad_claim',
  );
});

test('each required claim must be present', async (t) => {
  const world = await openTokenWorld(t);
  for (const name of ['sub', 'client_id', 'jti', 'iat', 'exp']) {
    const token = await signedToken(world, { ...goodClaims(), [name]: undefined });
    await assertRefused(world.verifier.verify(token), 'missing_claim', token);
  }
  for (const [name, value] of [
    ['sub', ''],
    ['client_id', 5],
    ['scope', ['a']],
    ['amr', 'pwd'],
    ['cnf', 'x'],
    ['patient', 1],
  ] as const) {
    await assertRefused(
      world.verifier.verify(await signedToken(world, { ...goodClaims(), [name]: value })),
      'bad_claim',
    );
  }
});

test('a missing or unknown role is refused', async (t) => {
  const world = await openTokenWorld(t);
  for (const role of [undefined, 'superuser', 'ADMIN', ['admin'], '']) {
    const token = await signedToken(world, { ...goodClaims(), role });
    await assertRefused(world.verifier.verify(token), 'unknown_role', token);
  }
});

test('oversize tokens and garbage are refused before any parsing', async (t) => {
  const world = await openTokenWorld(t);
  const big = await signedToken(world, { ...goodClaims(), padding: 'x'.repeat(maxTokenLength) });
  await assertRefused(world.verifier.verify(big), 'too_large', big);
  await assertRefused(world.verifier.verify('a'.repeat(10 * 1024 * 1024)), 'too_large');
  const garbage = [
    '',
    'abc',
    'a.b',
    'a.b.c.d',
    '..',
    'a..c',
    'Bearer x.y.z',
    'a b.c.d',
    'W10.e30.AA',
    '!!!.???.###',
    `${base64url.encode('not json')}.e30.AA`,
    `${base64url.encode(new Uint8Array([0xff, 0xfe]))}.e30.AA`,
  ];
  for (const token of garbage) await assertRefused(world.verifier.verify(token), 'malformed');
  await assertRefused(world.verifier.verify('e30.e30.e30'), 'bad_algorithm');
  const { kid } = await world.keys.currentKey('token-signing');
  const badPayload = await craftToken({ alg: 'ES256', typ: 'at+jwt', kid }, goodClaims(), keyringSigner(world.keys));
  const [header, , signature] = badPayload.split('.');
  await assertRefused(world.verifier.verify(`${header}.${base64url.encode('[1,2]')}.${signature}`), 'malformed');
});

test('revoked tokens, grants and subjects are refused; a token issued after a subject revocation is not', async (t) => {
  const world = await openTokenWorld(t);
  const claims = goodClaims();
  const byJti = await signedToken(world, claims);
  await world.verifier.verify(byJti);
  await world.revocation.revokeToken(decodeJwt(byJti).jti!, claims.exp as number);
  await assertRefused(world.verifier.verify(byJti), 'revoked', byJti);

  const granted = await signedToken(world, { ...goodClaims(), grant_id: 'grant-1' });
  const otherGrant = await signedToken(world, { ...goodClaims(), grant_id: 'grant-2' });
  await world.revocation.revokeGrant('grant-1');
  await assertRefused(world.verifier.verify(granted), 'revoked', granted);
  assert.equal((await world.verifier.verify(otherGrant)).grantId, 'grant-2');

  const before = await signedToken(world, { ...goodClaims(), sub: 'user-2' });
  const otherUser = await signedToken(world, { ...goodClaims(), sub: 'user-3' });
  await world.revocation.revokeSubject('user-2');
  await assertRefused(world.verifier.verify(before), 'revoked', before);
  assert.equal((await world.verifier.verify(otherUser)).subject, 'user-3');
  world.clock += 1000;
  const after = await signedToken(world, { ...goodClaims(world.clock), sub: 'user-2' });
  assert.equal((await world.verifier.verify(after)).subject, 'user-2');
  await assertRefused(world.verifier.verify(before), 'revoked', before);
});

test('a cached token is still refused after revocation and after expiry', async (t) => {
  const world = await openTokenWorld(t);
  let keyLookups = 0;
  const counting: IssuerProfile = {
    ...world.profile,
    keys: () => {
      keyLookups += 1;
      return world.profile.keys();
    },
  };
  const verifier = world.verifierWith({ profiles: [counting] });
  const claims = goodClaims();
  const token = await signedToken(world, claims);
  await verifier.verify(token);
  await verifier.verify(token);
  assert.equal(keyLookups, 1, 'the second call was served from the cache');
  await world.revocation.revokeToken(claims.jti as string, claims.exp as number);
  await assertRefused(verifier.verify(token), 'revoked', token);

  const expiring = await signedToken(world, goodClaims());
  await verifier.verify(expiring);
  world.clock += 300_000 + 29_000;
  await verifier.verify(expiring);
  world.clock += 2_000;
  await assertRefused(verifier.verify(expiring), 'expired', expiring);
  assert.equal(keyLookups, 2, 'the expiry was decided on the cached entry');
});

test('the cache is bounded and evicts the least recently used token', async (t) => {
  const world = await openTokenWorld(t);
  let keyLookups = 0;
  const counting: IssuerProfile = {
    ...world.profile,
    keys: () => {
      keyLookups += 1;
      return world.profile.keys();
    },
  };
  const verifier = world.verifierWith({ profiles: [counting], cacheSize: 2 });
  const [a, b, c] = await Promise.all([1, 2, 3].map(async () => signedToken(world, goodClaims())));
  await verifier.verify(a!);
  await verifier.verify(b!);
  await verifier.verify(a!);
  await verifier.verify(c!);
  assert.equal(keyLookups, 3);
  await verifier.verify(a!);
  assert.equal(keyLookups, 3, 'a was used recently and stayed');
  await verifier.verify(b!);
  assert.equal(keyLookups, 4, 'b was evicted');
});

test('unreachable keys or revocation store fail closed with SERVICE_UNAVAILABLE', async (t) => {
  const world = await openTokenWorld(t);
  const token = await signedToken(world, goodClaims());
  const broken: IssuerProfile = { ...world.profile, keys: () => Promise.reject(new Error('jwks fetch failed')) };
  await assertRefused(
    world.verifierWith({ profiles: [broken] }).verify(token),
    'keys_unavailable',
    token,
    'SERVICE_UNAVAILABLE',
  );
  const down = { isRevoked: () => Promise.reject(new Error('database down')) };
  await assertRefused(
    world.verifierWith({ revocation: down }).verify(token),
    'revocation_unavailable',
    token,
    'SERVICE_UNAVAILABLE',
  );
});

test('tokens signed before a key rotation still verify; new ones use the new kid', async (t) => {
  const world = await openTokenWorld(t);
  const old = await signedToken(world, goodClaims());
  const { kid } = await world.keys.rotate('token-signing');
  const fresh = await signedToken(world, goodClaims());
  assert.equal(decodeProtectedHeader(fresh).kid, kid);
  assert.equal((await world.verifier.verify(old)).subject, 'user-1');
  assert.equal((await world.verifier.verify(fresh)).subject, 'user-1');
});

test('refuses unsafe verifier options', async (t) => {
  const world = await openTokenWorld(t);
  assert.throws(() => world.verifierWith({ profiles: [] }), TypeError);
  assert.throws(() => world.verifierWith({ profiles: [world.profile, world.profile] }), TypeError);
  assert.throws(() => world.verifierWith({ audience: '' }), TypeError);
  assert.throws(() => world.verifierWith({ clockSkewSeconds: 3600 }), RangeError);
});
