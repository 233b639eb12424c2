/**
 * The user directory (src/auth/users/directory.ts) on a real database:
 * password checks, no user enumeration, lockout with backoff per account and
 * per address shared by two processes, re-hash on a policy change, FIPS
 * hashes, and the claims findAccount hands out. Run on SQLite and PostgreSQL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { parseOptions } from '@node-rs/argon2';
import { createUserServices, type UserServices } from '../../../src/auth/users/services.js';
import type { User } from '../../../src/storage/user-ports.js';
import type { UsersConfig } from '../../../src/config/users.js';
import type { Database } from '../../../src/storage/ports.js';
import { uniqueUsername, userRecord } from './user-store-contract.js';

/** Cheap costs: the tests are about behaviour, not hash strength. */
export const testSettings: UsersConfig = {
  argon2: { memoryKiB: 8192, timeCost: 1, parallelism: 1 },
  pbkdf2Iterations: 1000,
  hashing: { maxConcurrent: 2, maxWaiting: 32, budgetMsPerSecond: 0, nice: 0 },
  lockout: { accountFailures: 3, ipFailures: 5, baseSeconds: 60, maxSeconds: 600, windowSeconds: 900 },
};

const password = 'a long and unusual passphrase';

/** A settable clock for the lockout (milliseconds since the epoch). */
function clock() {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    advance: (ms: number) => {
      offset += ms;
    },
  };
}

function services(
  db: Database,
  options: { settings?: Partial<UsersConfig>; fips?: boolean; now?: () => number } = {},
): UserServices {
  return createUserServices({
    settings: { ...testSettings, ...options.settings },
    fips: options.fips ?? false,
    db,
    fhirBaseUrl: 'https://ehr.example/api/v1',
    ...(options.now !== undefined && { now: options.now }),
  });
}

async function storedUser(db: Database, svc: UserServices, overrides: Partial<User> = {}): Promise<User> {
  const user = userRecord({ passwordHash: await svc.hasher.hash(password), ...overrides });
  assert.equal(await db.users.create(user), 'created');
  return user;
}

function uniqueIp(): string {
  const bytes = randomUUID().replaceAll('-', '');
  return `fd00::${bytes.slice(0, 4)}:${bytes.slice(4, 8)}`;
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

/** Registers the directory tests over `db()`; `second()` opens another handle on the same database. */
export function registerDirectoryContract(kind: string, db: () => Database, second: () => Promise<Database>): void {
  test(`${kind} directory: the right password logs in; the username is matched in its normal form`, async () => {
    const svc = services(db());
    const user = await storedUser(db(), svc);
    const result = await svc.directory.verifyPassword({
      username: ` ${user.username.toUpperCase()} `,
      password,
      sourceIp: uniqueIp(),
    });
    assert.ok(result.ok);
    assert.equal(result.user.id, user.id);
  });

  test(`${kind} directory: an unknown user and a wrong password get the same answer, and both cost one hash`, async () => {
    const svc = services(db());
    const user = await storedUser(db(), svc);
    const sourceIp = uniqueIp();
    await svc.directory.verifyPassword({ username: uniqueUsername('warm'), password: 'x', sourceIp: uniqueIp() }); // the dummy hash is ready
    const runs = { wrong: [] as number[], unknown: [] as number[] };
    for (let round = 0; round < 2; round += 1) {
      const startedBefore = svc.queue.stats().started;
      const dummyBefore = svc.directory.stats().dummyVerifications;
      const wrong = await timed(() =>
        svc.directory.verifyPassword({ username: user.username, password: `${password}!`, sourceIp }),
      );
      assert.equal(svc.queue.stats().started, startedBefore + 1, 'a wrong password is one verification');
      const unknown = await timed(() =>
        svc.directory.verifyPassword({ username: uniqueUsername('nobody'), password, sourceIp }),
      );
      assert.equal(
        svc.queue.stats().started,
        startedBefore + 2,
        'an unknown user is one verification too (against the dummy hash)',
      );
      assert.equal(svc.directory.stats().dummyVerifications, dummyBefore + 1);
      assert.deepEqual(unknown.value, wrong.value);
      assert.deepEqual(wrong.value, { ok: false, reason: 'invalid_credentials' });
      runs.wrong.push(wrong.ms);
      runs.unknown.push(unknown.ms);
    }
    // Loose on purpose (a shared machine): skipping the hash would make the unknown path about a hundred times faster.
    assert.ok(
      Math.min(...runs.unknown) * 4 > Math.min(...runs.wrong),
      `unknown ${runs.unknown.join(',')} ms vs wrong ${runs.wrong.join(',')} ms`,
    );
  });

  test(`${kind} directory: an account locks after repeated failures, with backoff, and a success resets its count`, async () => {
    const time = clock();
    const svc = services(db(), { now: time.now });
    const user = await storedUser(db(), svc);
    const attempt = (pw: string) =>
      svc.directory.verifyPassword({ username: user.username, password: pw, sourceIp: uniqueIp() });
    assert.deepEqual(await attempt('wrong password 1'), { ok: false, reason: 'invalid_credentials' });
    assert.deepEqual(await attempt('wrong password 2'), { ok: false, reason: 'invalid_credentials' });
    assert.deepEqual(await attempt('wrong password 3'), { ok: false, reason: 'locked', retryAfterSeconds: 60 });
    const started = svc.queue.stats().started;
    assert.deepEqual(
      await attempt(password),
      { ok: false, reason: 'locked', retryAfterSeconds: 60 },
      'locked even with the right password',
    );
    assert.equal(svc.queue.stats().started, started, 'a locked attempt costs no hash');
    time.advance(61_000);
    assert.deepEqual(
      await attempt('wrong password 4'),
      { ok: false, reason: 'locked', retryAfterSeconds: 120 },
      'the next failure doubles the lock',
    );
    time.advance(121_000);
    assert.equal((await attempt(password)).ok, true);
    assert.deepEqual(
      await attempt('wrong again 1'),
      { ok: false, reason: 'invalid_credentials' },
      'the success reset the count',
    );
    assert.deepEqual(await attempt('wrong again 2'), { ok: false, reason: 'invalid_credentials' });
    assert.deepEqual(await attempt('wrong again 3'), { ok: false, reason: 'locked', retryAfterSeconds: 60 });
  });

  test(`${kind} directory: an unknown username locks exactly as a known one does`, async () => {
    const svc = services(db());
    const username = uniqueUsername('ghost');
    const answers = [];
    for (let i = 0; i < 4; i += 1)
      answers.push(
        await svc.directory.verifyPassword({ username, password: `guess ${String(i)}`, sourceIp: uniqueIp() }),
      );
    assert.deepEqual(
      answers.map((a) => !a.ok && a.reason),
      ['invalid_credentials', 'invalid_credentials', 'locked', 'locked'],
    );
  });

  test(`${kind} directory: one address failing on many accounts is locked for every account, other addresses are not`, async () => {
    const svc = services(db());
    const sourceIp = uniqueIp();
    for (let i = 0; i < 4; i += 1) {
      assert.deepEqual(
        await svc.directory.verifyPassword({
          username: uniqueUsername('spray'),
          password: 'sprayed password',
          sourceIp,
        }),
        { ok: false, reason: 'invalid_credentials' },
      );
    }
    assert.deepEqual(
      await svc.directory.verifyPassword({ username: uniqueUsername('spray'), password: 'sprayed password', sourceIp }),
      { ok: false, reason: 'ip_locked', retryAfterSeconds: 60 },
    );
    const user = await storedUser(db(), svc);
    assert.deepEqual(await svc.directory.verifyPassword({ username: user.username, password, sourceIp }), {
      ok: false,
      reason: 'ip_locked',
      retryAfterSeconds: 60,
    });
    assert.equal(
      (await svc.directory.verifyPassword({ username: user.username, password, sourceIp: uniqueIp() })).ok,
      true,
    );
  });

  test(`${kind} directory: two processes share one account's failure count, concurrent failures included`, async () => {
    const other = await second();
    try {
      const mine = services(db());
      const theirs = services(other);
      const user = await storedUser(db(), mine);
      const results = await Promise.all(
        [mine, theirs, mine].map((svc, i) =>
          svc.directory.verifyPassword({
            username: user.username,
            password: `concurrent wrong ${String(i)}`,
            sourceIp: uniqueIp(),
          }),
        ),
      );
      assert.equal(
        results.filter((r) => !r.ok && r.reason === 'locked').length,
        1,
        'exactly the third counted failure locks: none was lost',
      );
      assert.equal(
        (await theirs.directory.verifyPassword({ username: user.username, password, sourceIp: uniqueIp() })).ok,
        false,
      );
      assert.deepEqual(
        await mine.directory.verifyPassword({ username: user.username, password, sourceIp: uniqueIp() }),
        { ok: false, reason: 'locked', retryAfterSeconds: 60 },
      );
    } finally {
      await other.close();
    }
  });

  test(`${kind} directory: a disabled account says so only to the right password; an over-long password is refused unhashed`, async () => {
    const svc = services(db());
    const user = await storedUser(db(), svc, { status: 'disabled' });
    assert.deepEqual(await svc.directory.verifyPassword({ username: user.username, password, sourceIp: uniqueIp() }), {
      ok: false,
      reason: 'disabled',
    });
    assert.deepEqual(
      await svc.directory.verifyPassword({
        username: user.username,
        password: 'not the password',
        sourceIp: uniqueIp(),
      }),
      { ok: false, reason: 'invalid_credentials' },
    );
    const started = svc.queue.stats().started;
    assert.deepEqual(
      await svc.directory.verifyPassword({ username: user.username, password: 'x'.repeat(129), sourceIp: uniqueIp() }),
      { ok: false, reason: 'invalid_input' },
    );
    assert.equal(svc.queue.stats().started, started);
  });

  test(`${kind} directory: a changed argon2 policy re-hashes at login; FIPS mode re-hashes to PBKDF2 and back, both formats verify`, async () => {
    const old = services(db());
    const user = await storedUser(db(), old);
    const stronger = services(db(), { settings: { argon2: { memoryKiB: 9216, timeCost: 2, parallelism: 1 } } });
    assert.equal(
      (await stronger.directory.verifyPassword({ username: user.username, password, sourceIp: uniqueIp() })).ok,
      true,
    );
    const rehashed = (await db().users.getById(user.id))?.passwordHash ?? '';
    assert.notEqual(rehashed, user.passwordHash);
    assert.deepEqual({ m: parseOptions(rehashed).memoryCost, t: parseOptions(rehashed).timeCost }, { m: 9216, t: 2 });
    assert.equal(stronger.hasher.needsRehash(rehashed), false);

    const fips = services(db(), { fips: true });
    assert.equal(
      (await fips.directory.verifyPassword({ username: user.username, password, sourceIp: uniqueIp() })).ok,
      true,
      'an argon2id hash still verifies in FIPS mode',
    );
    const pbkdf2 = (await db().users.getById(user.id))?.passwordHash ?? '';
    assert.match(pbkdf2, /^\$pbkdf2-sha256\$i=1000,l=32\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    assert.equal(
      (await fips.directory.verifyPassword({ username: user.username, password, sourceIp: uniqueIp() })).ok,
      true,
    );
    assert.equal(
      (await fips.directory.verifyPassword({ username: user.username, password: `${password}.`, sourceIp: uniqueIp() }))
        .ok,
      false,
    );

    assert.equal(
      (await stronger.directory.verifyPassword({ username: user.username, password, sourceIp: uniqueIp() })).ok,
      true,
      'a PBKDF2 hash verifies outside FIPS mode',
    );
    assert.match((await db().users.getById(user.id))?.passwordHash ?? '', /^\$argon2id\$v=19\$m=9216,t=2,p=1\$/);
  });

  test(`${kind} directory: findAccount claims carry role and the linked patient; disabled and unknown users have none`, async () => {
    const svc = services(db());
    const patient = await storedUser(db(), svc, { role: 'patient', patientId: 'pat-77' });
    assert.deepEqual(await svc.directory.findAccountClaims(patient.id), {
      sub: patient.id,
      preferred_username: patient.username,
      role: 'patient',
      kind: 'clinical',
      fhirUser: 'https://ehr.example/api/v1/Patient/pat-77',
      patient: 'pat-77',
    });
    const nurse = await storedUser(db(), svc, { role: 'nurse' });
    assert.deepEqual(await svc.directory.findAccountClaims(nurse.id), {
      sub: nurse.id,
      preferred_username: nurse.username,
      role: 'nurse',
      kind: 'clinical',
    });
    await db().users.setStatus(nurse.id, 'disabled', new Date().toISOString());
    assert.equal(await svc.directory.findAccountClaims(nurse.id), undefined);
    assert.equal(await svc.directory.findActiveUser(nurse.id), undefined);
    assert.equal(await svc.directory.findAccountClaims(randomUUID()), undefined);
  });
}
