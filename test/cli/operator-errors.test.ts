/**
 * What an operator sees when the server cannot start or a command cannot
 * open its database or keys: the real CLI as a child process, one line on
 * stderr naming the cause and the setting to fix, no stack trace, no secret
 * (docs/errors.md "Operator-facing errors"). Tests run as root, where file
 * permissions stop nothing: unusable paths are paths through a regular file.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { after, test } from 'node:test';
import { caduceusEnv, processScope, runCliProcess, testMasterKey, type CliRun } from '../helpers/process.js';
import { setUpSoftHsm, softhsmSkip } from '../helpers/softhsm.js';

/** Exit code 1 and exactly `expected` on stderr: one line, no stack frame, none of `secrets`. */
function assertOneLine(run: CliRun, expected: string, secrets: readonly string[] = []): void {
  assert.equal(run.stderr, `${expected}\n`);
  assert.equal(run.code, 1);
  assert.doesNotMatch(run.stderr, /\n\s+at /);
  for (const secret of [testMasterKey, ...secrets]) assert.ok(!run.stderr.includes(secret), 'a secret was printed');
}

function listening(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    });
  });
}

/** A loopback port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listening(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('a port in use names the address and CADUCEUS_PORT', async (t) => {
  const scope = await processScope(t);
  const holder = createServer();
  const port = await listening(holder);
  scope.defer(() => new Promise((resolve) => holder.close(resolve)));
  const run = await runCliProcess(scope, caduceusEnv(scope.dir, { CADUCEUS_PORT: String(port) }), ['serve']);
  assertOneLine(run, `caduceus: cannot listen on 127.0.0.1:${port}: the port is in use (set CADUCEUS_PORT)`);
});

test('an unreachable PostgreSQL names host:port without credentials, for serve and migrate', async (t) => {
  const scope = await processScope(t);
  const port = await closedPort();
  const password = 'pg-password-not-for-printing';
  const env = caduceusEnv(scope.dir, { CADUCEUS_DATABASE_URL: `postgres://caduceus:${password}@127.0.0.1:${port}/db` });
  const expected = `caduceus: cannot connect to PostgreSQL at 127.0.0.1:${port}: connection refused (set CADUCEUS_DATABASE_URL)`;
  for (const command of [['serve'], ['migrate']]) {
    const run = await runCliProcess(scope, env, command);
    assertOneLine(run, expected, [password, 'caduceus:pg']);
  }
});

test('a data folder that cannot be created names the path and CADUCEUS_DATA_DIR', async (t) => {
  const scope = await processScope(t);
  const blocker = path.join(scope.dir, 'a-file');
  await writeFile(blocker, 'not a folder');
  const dataDir = path.join(blocker, 'data');
  // `migrate` opens the database first; `serve` loads TLS before anything else, so the development certificate is what cannot be made there.
  assertOneLine(
    await runCliProcess(scope, caduceusEnv(dataDir), ['migrate']),
    `caduceus: cannot open the SQLite database ${dataDir}/caduceus.db: a part of the path is not a folder (set CADUCEUS_DATA_DIR or CADUCEUS_DATABASE_URL)`,
  );
  assertOneLine(
    await runCliProcess(scope, caduceusEnv(dataDir), ['serve']),
    `caduceus: cannot read the TLS file ${dataDir}/dev-cert.pem: a part of the path is not a folder (set CADUCEUS_DATA_DIR)`,
  );
});

test('an unusable master key or keyring file names the path and its setting, never the key', async (t) => {
  const scope = await processScope(t);
  const missing = path.join(scope.dir, 'no-such.key');
  const folder = path.join(scope.dir, 'a-folder.key');
  await mkdir(folder);
  const fromFile = (file: string): Record<string, string> =>
    caduceusEnv(path.join(scope.dir, 'data'), { CADUCEUS_MASTER_KEY: '', CADUCEUS_MASTER_KEY_FILE: file });
  assertOneLine(
    await runCliProcess(scope, fromFile(missing), ['serve']),
    `caduceus: CADUCEUS_MASTER_KEY_FILE: the master key file ${missing} does not exist`,
  );
  assertOneLine(
    await runCliProcess(scope, fromFile(folder), ['serve']),
    `caduceus: CADUCEUS_MASTER_KEY_FILE: The master key file is not a regular file (${folder})`,
  );
  const blocker = path.join(scope.dir, 'a-file');
  await writeFile(blocker, 'not a folder');
  const keyring = path.join(blocker, 'keyring.json');
  assertOneLine(
    await runCliProcess(scope, caduceusEnv(path.join(scope.dir, 'data'), { CADUCEUS_KEYRING: keyring }), ['serve']),
    `caduceus: cannot open the keyring file ${keyring}: a part of the path is not a folder (set CADUCEUS_KEYRING)`,
  );
});

test('a missing or unreadable TLS certificate names the path and the setting', async (t) => {
  const scope = await processScope(t);
  const cert = path.join(scope.dir, 'no-cert.pem');
  const key = path.join(scope.dir, 'no-key.pem');
  const env = caduceusEnv(path.join(scope.dir, 'data'), { CADUCEUS_TLS_CERT: cert, CADUCEUS_TLS_KEY: key });
  assertOneLine(
    await runCliProcess(scope, env, ['serve']),
    `caduceus: The TLS certificate file ${cert} does not exist (set CADUCEUS_TLS_CERT)`,
  );
  await mkdir(cert);
  assertOneLine(
    await runCliProcess(scope, env, ['serve']),
    `caduceus: cannot read the TLS file ${cert}: the path is a folder (set CADUCEUS_TLS_CERT)`,
  );
});

const skipHsm = await softhsmSkip();
const hsm = skipHsm === false ? await setUpSoftHsm() : undefined;
after(() => hsm?.cleanup());

test('a wrong HSM PIN names CKR_PIN_INCORRECT and the PIN settings, never a PIN', { skip: skipHsm }, async (t) => {
  const scope = await processScope(t);
  if (hsm === undefined) return;
  const token = await hsm.createToken();
  const wrongPin = 'wrong-pin-not-for-printing';
  const env = caduceusEnv(scope.dir, {
    CADUCEUS_KEY_MANAGER: 'pkcs11',
    CADUCEUS_PKCS11_MODULE: hsm.modulePath,
    CADUCEUS_PKCS11_TOKEN_LABEL: token.label,
    CADUCEUS_PKCS11_PIN: wrongPin,
  });
  assertOneLine(
    await runCliProcess(scope, env, ['serve']),
    'caduceus: PKCS#11 login refused: the PIN is wrong; check CADUCEUS_PKCS11_PIN_FILE or CADUCEUS_PKCS11_PIN (CKR_PIN_INCORRECT)',
    [wrongPin, token.pin, token.soPin],
  );
});
