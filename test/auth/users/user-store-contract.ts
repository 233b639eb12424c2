/**
 * The UserStore contract (src/storage/user-ports.ts), run against every
 * adapter by user-store-sqlite.test.ts and user-store-postgres.test.ts.
 * Tests share one migrated database, so each uses its own usernames.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { User } from '../../../src/storage/user-ports.js';
import { StorageError } from '../../../src/storage/errors.js';
import type { Database } from '../../../src/storage/ports.js';

/** A distinct, valid, normalised username. */
export function uniqueUsername(prefix = 'u'): string {
  return `${prefix}-${randomUUID().slice(0, 12)}`;
}

/** A user record as the directory would store it. */
export function userRecord(overrides: Partial<User> = {}): User {
  const at = new Date().toISOString();
  return {
    id: randomUUID(),
    username: uniqueUsername(),
    role: 'clinician',
    kind: 'clinical',
    status: 'active',
    passwordHash: '$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
    patientId: null,
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}

/** Registers the contract; `db()` is the suite's migrated database, `second()` opens another handle on the same one (another process). */
export function registerUserStoreContract(kind: string, db: () => Database, second: () => Promise<Database>): void {
  test(`${kind} users: a created user reads back exactly, by id and by username`, async () => {
    const user = userRecord({ role: 'patient', patientId: 'pat-1' });
    assert.equal(await db().users.create(user), 'created');
    assert.deepEqual(await db().users.getById(user.id), user);
    assert.deepEqual(await db().users.getByUsername(user.username), user);
    assert.equal(await db().users.getById(randomUUID()), undefined);
    assert.equal(await db().users.getByUsername(uniqueUsername('absent')), undefined);
  });

  test(`${kind} users: a taken username or id is 'duplicate' and changes nothing`, async () => {
    const user = userRecord();
    assert.equal(await db().users.create(user), 'created');
    assert.equal(await db().users.create(userRecord({ username: user.username, role: 'nurse' })), 'duplicate');
    assert.equal(await db().users.create(userRecord({ id: user.id })), 'duplicate');
    assert.deepEqual(await db().users.getByUsername(user.username), user);
  });

  test(`${kind} users: two processes creating one username at once: exactly one wins`, async () => {
    const other = await second();
    try {
      const username = uniqueUsername('race');
      const results = await Promise.all([
        db().users.create(userRecord({ username })),
        other.users.create(userRecord({ username, role: 'billing' })),
      ]);
      assert.deepEqual([...results].sort(), ['created', 'duplicate']);
    } finally {
      await other.close();
    }
  });

  test(`${kind} users: the schema refuses the admin role on a clinical account and any other role on an admin account`, async () => {
    await assert.rejects(db().users.create(userRecord({ role: 'admin', kind: 'clinical' })), StorageError);
    await assert.rejects(db().users.create(userRecord({ role: 'auditor', kind: 'admin' })), StorageError);
    const admin = userRecord({ role: 'admin', kind: 'admin' });
    assert.equal(await db().users.create(admin), 'created');
    assert.equal((await db().users.getById(admin.id))?.kind, 'admin');
  });

  test(`${kind} users: status and patient link change only the named user, and report an unknown id`, async () => {
    const user = userRecord({ role: 'patient' });
    const bystander = userRecord();
    await db().users.create(user);
    await db().users.create(bystander);
    const later = new Date(Date.now() + 1000).toISOString();
    assert.equal(await db().users.setStatus(user.id, 'disabled', later), true);
    assert.equal(await db().users.setPatient(user.id, 'pat-9', later), true);
    assert.deepEqual(await db().users.getById(user.id), {
      ...user,
      status: 'disabled',
      patientId: 'pat-9',
      updatedAt: later,
    });
    assert.equal(await db().users.setPatient(user.id, null, later), true);
    assert.equal((await db().users.getById(user.id))?.patientId, null);
    assert.deepEqual(await db().users.getById(bystander.id), bystander);
    assert.equal(await db().users.setStatus(randomUUID(), 'active', later), false);
    assert.equal(await db().users.setPatient(randomUUID(), 'p', later), false);
  });

  test(`${kind} users: the password hash is replaced only while it is still the expected one`, async () => {
    const user = userRecord();
    await db().users.create(user);
    const at = new Date().toISOString();
    assert.equal(await db().users.replacePasswordHash(user.id, 'not-the-hash', '$new$', at), false);
    assert.equal((await db().users.getById(user.id))?.passwordHash, user.passwordHash);
    assert.equal(await db().users.replacePasswordHash(user.id, user.passwordHash, '$new$', at), true);
    assert.equal(
      await db().users.replacePasswordHash(user.id, user.passwordHash, '$newer$', at),
      false,
      'the second of two racing re-hashes loses',
    );
    assert.equal((await db().users.getById(user.id))?.passwordHash, '$new$');
  });

  test(`${kind} users: list pages in username order after a cursor`, async () => {
    const prefix = `list-${randomUUID().slice(0, 6)}`;
    const names = ['c', 'a', 'e', 'b', 'd'].map((letter) => `${prefix}-${letter}`);
    for (const username of names) await db().users.create(userRecord({ username }));
    const page1 = await db().users.list({ after: `${prefix}-`, limit: 2 });
    assert.deepEqual(
      page1.map((u) => u.username),
      [`${prefix}-a`, `${prefix}-b`],
    );
    const page2 = await db().users.list({ after: page1.at(-1)?.username ?? '', limit: 3 });
    assert.deepEqual(
      page2.map((u) => u.username),
      [`${prefix}-c`, `${prefix}-d`, `${prefix}-e`],
    );
    const all = await db().users.list({ limit: 1000 });
    assert.deepEqual(
      all.map((u) => u.username),
      [...all.map((u) => u.username)].sort(),
      'ascending, binary order',
    );
  });
}
