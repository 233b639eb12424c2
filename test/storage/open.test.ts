import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StorageError } from '../../src/storage/errors.js';
import { describeDatabase, openDatabase } from '../../src/storage/open.js';
import { parsePostgresUrl } from '../../src/storage/postgres/url.js';

test('describeDatabase never shows credentials or file paths', () => {
  assert.equal(describeDatabase('/srv/secret/path/caduceus.db'), 'sqlite');
  assert.equal(describeDatabase(':memory:'), 'sqlite');
  assert.equal(
    describeDatabase('postgres://admin:hunter2@db.internal:6543/prod?sslmode=require'),
    'postgres://db.internal:6543/prod',
  );
  assert.equal(describeDatabase('postgresql://u:p@db/x?schema=tenant_a'), 'postgres://db:5432/x?schema=tenant_a');
  const broken = describeDatabase('postgres://u:pa ss@[bad');
  assert.ok(!broken.includes('pa ss'));
});

test('parsePostgresUrl strips schema= and keeps every other parameter', () => {
  const target = parsePostgresUrl('postgres://u:p@h:5432/db?sslmode=disable&schema=caduceus_x1');
  assert.equal(target.schema, 'caduceus_x1');
  const rest = new URL(target.connectionString);
  assert.equal(rest.searchParams.get('schema'), null);
  assert.equal(rest.searchParams.get('sslmode'), 'disable');
  assert.equal(rest.password, 'p');
  assert.deepEqual(parsePostgresUrl('postgres://h/db'), { connectionString: 'postgres://h/db', schema: undefined });
});

test('a schema name outside [a-z_][a-z0-9_]* is refused before connecting', async () => {
  for (const bad of ['Public', '1abc', 'a-b', 'x";DROP', `a${'b'.repeat(63)}`]) {
    await assert.rejects(
      openDatabase(`postgres://127.0.0.1:1/db?schema=${encodeURIComponent(bad)}`),
      (error: unknown) => error instanceof StorageError && error.reason === 'invalid' && !error.message.includes(bad),
    );
  }
});
