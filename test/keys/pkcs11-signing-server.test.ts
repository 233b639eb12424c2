/**
 * Token-signing keys in the HSM, end to end (docs/hsm.md "Signing keys"):
 * a real server with CADUCEUS_SIGNING_KEYS=pkcs11 (and the KEKs on the same
 * SoftHSM2 token) publishes the token's public key at /jwks and accepts a
 * token that `caduceus token issue` had signed on the token; `keys rotate
 * --signing` adds a new key pair on the token while a token signed before
 * keeps working; a wrong PIN refuses the start with one safe line.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { calculateJwkThumbprint, decodeProtectedHeader } from 'jose';
import pkcs11js from 'pkcs11js';
import { signingLabelPrefix } from '../../src/keys/pkcs11/index.js';
import {
  caduceusEnv,
  httpsRequest,
  processScope,
  runCliProcess,
  spawnServer,
  type ProcessScope,
  type ServerProcess,
} from '../helpers/process.js';
import { openRawSession, setUpSoftHsm, softhsmSkip, type TestToken } from '../helpers/softhsm.js';

const skip = await softhsmSkip();
const hsm = skip === false ? await setUpSoftHsm() : undefined;
after(() => hsm?.cleanup());

function hsmEnv(dir: string, token: TestToken, pin = token.pin): Record<string, string> {
  return caduceusEnv(dir, {
    CADUCEUS_SIGNING_KEYS: 'pkcs11',
    CADUCEUS_KEY_MANAGER: 'pkcs11',
    CADUCEUS_PKCS11_MODULE: hsm!.modulePath,
    CADUCEUS_PKCS11_TOKEN_LABEL: token.label,
    CADUCEUS_PKCS11_PIN: pin,
    CADUCEUS_LOG_LEVEL: 'info',
    SOFTHSM2_CONF: process.env.SOFTHSM2_CONF ?? '',
  });
}

async function jwksKids(server: ServerProcess): Promise<string[]> {
  const answer = await httpsRequest(`${server.url}/jwks`, server.ca);
  assert.equal(answer.status, 200, answer.body);
  const keys = (
    JSON.parse(answer.body) as { keys: { kid: string; kty: string; crv: string; alg?: string; d?: string }[] }
  ).keys;
  for (const key of keys) {
    assert.deepEqual([key.kty, key.crv, key.d], ['EC', 'P-256', undefined], 'public P-256 keys only');
  }
  return keys.map((key) => key.kid);
}

async function issue(scope: ProcessScope, env: Record<string, string>): Promise<string> {
  const run = await runCliProcess(scope, env, ['token', 'issue', '--role', 'clinician', '--json']);
  assert.equal(run.code, 0, run.stderr);
  return (JSON.parse(run.stdout) as { access_token: string }).access_token;
}

async function readPatients(server: ServerProcess, bearer: string): Promise<number> {
  return (
    await httpsRequest(`${server.url}/api/v1/patients?family=nobody`, server.ca, {
      headers: { authorization: `Bearer ${bearer}` },
    })
  ).status;
}

/** Polls until `check` holds (the server re-reads the token's keys every 5 s). */
async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.fail(`not within ${timeoutMs} ms: ${what}`);
}

/** RFC 7638 thumbprints of the token-signing public keys on the token, computed from outside the adapter from each CKA_EC_POINT. */
async function tokenSigningKids(token: TestToken): Promise<string[]> {
  const raw = openRawSession(hsm!.modulePath, token);
  const points: Buffer[] = [];
  try {
    raw.api.C_FindObjectsInit(raw.session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY }]);
    const handles = raw.api.C_FindObjects(raw.session, 100);
    raw.api.C_FindObjectsFinal(raw.session);
    for (const handle of handles) {
      if (raw.attribute(handle, pkcs11js.CKA_LABEL).toString('utf8').startsWith(signingLabelPrefix('token-signing')))
        points.push(raw.attribute(handle, pkcs11js.CKA_EC_POINT));
    }
  } finally {
    raw.close();
  }
  // DER OCTET STRING (04 41) around 04 || X || Y.
  return Promise.all(
    points.map((point) =>
      calculateJwkThumbprint(
        {
          kty: 'EC',
          crv: 'P-256',
          x: point.subarray(3, 35).toString('base64url'),
          y: point.subarray(35).toString('base64url'),
        },
        'sha256',
      ),
    ),
  );
}

test(
  'pkcs11 signing: the server publishes the HSM key, accepts a CLI token signed on the token, and a rotation keeps old tokens valid',
  { skip, timeout: 180_000 },
  async (t) => {
    const scope = await processScope(t);
    const token = await hsm!.createToken();
    const env = hsmEnv(scope.dir, token);
    const server = await spawnServer(scope, env);

    const [firstKid, ...others] = await jwksKids(server);
    assert.ok(firstKid !== undefined);
    assert.deepEqual(others, [], 'one token-signing key on a fresh token');
    const before = await issue(scope, env);
    assert.deepEqual(decodeProtectedHeader(before), { alg: 'ES256', kid: firstKid, typ: 'at+jwt' });
    assert.equal(await readPatients(server, before), 200);
    // Bad input: the same token with its signature altered is refused.
    const last = before.at(-2) === 'A' ? 'B' : 'A';
    assert.equal(await readPatients(server, `${before.slice(0, -2)}${last}${before.slice(-1)}`), 401);

    const rotated = await runCliProcess(scope, env, ['keys', 'rotate', '--signing', '--json'], 60_000);
    assert.equal(rotated.code, 0, rotated.stderr);
    const [outcome] = (
      JSON.parse(rotated.stdout) as { rotated: { kind: string; tokenSigning: { kid: string; previous: string[] } }[] }
    ).rotated;
    assert.equal(outcome?.kind, 'signing');
    const newKid = outcome.tokenSigning.kid;
    assert.notEqual(newKid, firstKid);
    assert.deepEqual(outcome.tokenSigning.previous, [firstKid]);

    // The running server sees the key the CLI generated on the token: both published, newest first.
    await eventually(
      async () => (await jwksKids(server)).join() === [newKid, firstKid].join(),
      '/jwks lists the new key and the old one',
    );
    const after = await issue(scope, env);
    assert.equal(decodeProtectedHeader(after).kid, newKid, 'the CLI signs with the new HSM key');
    await eventually(async () => (await readPatients(server, after)) === 200, 'a token of the new key is accepted');
    assert.equal(await readPatients(server, before), 200, 'a token signed before the rotation still verifies');
    const status = await runCliProcess(scope, env, ['keys', 'status', '--json']);
    assert.equal(status.code, 0, status.stderr);
    const signing = (JSON.parse(status.stdout) as { signing: Record<string, { kid: string; state: string }[]> })
      .signing['token-signing'];
    assert.deepEqual(
      signing?.map((key) => [key.kid, key.state]),
      [
        [newKid, 'current'],
        [firstKid, 'previous'],
      ],
    );

    server.child.kill('SIGTERM');
    await server.exited;
    // The published keys are exactly the public halves on the token, not keys of some keyring file.
    assert.deepEqual((await tokenSigningKids(token)).sort(), [newKid, firstKid].sort());
  },
);

test(
  'pkcs11 signing: a wrong PIN refuses the start with a safe message that does not contain the PIN',
  { skip, timeout: 60_000 },
  async (t) => {
    const scope = await processScope(t);
    const token = await hsm!.createToken();
    const wrongPin = `${token.pin}9`;
    // The KEKs stay local here, so it is the signing keys that refuse the start.
    const env = { ...hsmEnv(scope.dir, token, wrongPin), CADUCEUS_KEY_MANAGER: 'local' };
    const run = await runCliProcess(scope, env, ['serve'], 30_000);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /PIN is wrong; check CADUCEUS_PKCS11_PIN/);
    assert.match(run.stderr, /CKR_PIN_INCORRECT/);
    assert.doesNotMatch(run.stderr + run.stdout, new RegExp(wrongPin));
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    assert.deepEqual(await tokenSigningKids(token), [], 'nothing was generated on the token');
  },
);
