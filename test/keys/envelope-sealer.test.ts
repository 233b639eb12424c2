/**
 * The envelope sealer against the Sealer contract of src/keys/ports.ts, on a
 * real database of each kind: the AAD binds type, id and version; two
 * processes sealing their first record at once end with one data key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { createBreakers } from '../../src/lib/circuit-breaker.js';
import { createEnvelopeSealer, IntegrityError, type EnvelopeSealer } from '../../src/keys/envelope/index.js';
import { MasterKey, openLocalKeyWrapper } from '../../src/keys/local/index.js';
import { createSecurityEvents } from '../../src/lib/security-events.js';
import { openDatabase } from '../../src/storage/open.js';
import type { Database } from '../../src/storage/ports.js';
import { openTestDatabase, postgresSkip } from '../helpers/database.js';

const context = { type: 'Patient', id: 'p-1', version: 3 };

interface Fixture {
  /** A sealer as one process would have it: its own wrapper handle, breaker, cache and database connection. */
  process(): Promise<EnvelopeSealer>;
}

async function fixture(
  t: { after(fn: () => Promise<void> | void): void },
  kind: 'sqlite' | 'postgres',
): Promise<Fixture> {
  const dir = await mkdtemp(path.join(tmpdir(), 'caduceus-env-'));
  const database = await openTestDatabase(kind);
  const masterKey = new MasterKey(randomBytes(32));
  const opened: Database[] = [];
  const breakers = createBreakers(createSecurityEvents(pino({ level: 'silent' })));
  t.after(async () => {
    breakers.shutdown();
    for (const db of opened) await db.close();
    await database.cleanup();
    await rm(dir, { recursive: true, force: true });
  });
  let count = 0;
  return {
    async process() {
      count += 1;
      const name = `key-manager-${count}`;
      const db = await openDatabase(database.url);
      opened.push(db);
      return createEnvelopeSealer({
        wrapper: await openLocalKeyWrapper({ path: path.join(dir, 'kek-keyring.json'), masterKey }),
        store: db.dataKeys,
        breaker: breakers.create({ name, timeoutMs: 5000, resetMs: 1000 }),
        cacheSize: 8,
      });
    },
  };
}

for (const kind of ['sqlite', 'postgres'] as const) {
  const skip = kind === 'postgres' ? await postgresSkip() : false;

  test(
    `${kind}: seal then open round-trips; each seal has a fresh nonce; the AAD binds type, id and version`,
    { skip },
    async (t) => {
      const sealer = await (await fixture(t, kind)).process();
      const plaintext = Buffer.from('{"resourceType":"Patient","name":[{"family":"Secret"}]}');
      const sealed = await sealer.seal(plaintext, context);
      assert.deepEqual(Buffer.from(await sealer.open(sealed, context)), plaintext);
      const again = await sealer.seal(plaintext, context);
      assert.notDeepEqual(Buffer.from(again), Buffer.from(sealed), 'a random nonce per seal');
      assert.equal(sealed.length, plaintext.length + 31 + 16, 'header (31) + ciphertext + tag (16)');
      for (const other of [
        { ...context, type: 'Observation' },
        { ...context, id: 'p-2' },
        { ...context, version: 4 },
      ]) {
        await assert.rejects(
          sealer.open(sealed, other),
          (error: unknown) =>
            error instanceof IntegrityError &&
            error.failure === 'authentication' &&
            error.id === other.id &&
            !error.message.includes('Secret'),
        );
      }
      const unknownKey = Buffer.from(sealed);
      unknownKey[5] = (unknownKey[5] ?? 0) ^ 0xff;
      await assert.rejects(
        sealer.open(unknownKey, context),
        (error: unknown) => error instanceof IntegrityError && error.failure === 'unknown-data-key',
      );
      await assert.rejects(
        sealer.open(sealed.subarray(0, 40), context),
        (error: unknown) => error instanceof IntegrityError && error.failure === 'format',
      );
      await assert.rejects(
        sealer.open(plaintext, context),
        (error: unknown) => error instanceof IntegrityError && error.failure === 'format',
      );
    },
  );

  test(
    `${kind}: two processes sealing their first record at once agree on one data key and open each other's records`,
    { skip },
    async (t) => {
      const setup = await fixture(t, kind);
      const [a, b] = await Promise.all([setup.process(), setup.process()]);
      const sealed = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? a : b).seal(Buffer.from(`record ${i}`), { ...context, version: i + 1 }),
        ),
      );
      const store = await setup.process();
      for (const [i, body] of sealed.entries()) {
        const opener = i % 2 === 0 ? b : a;
        assert.equal(Buffer.from(await opener.open(body, { ...context, version: i + 1 })).toString(), `record ${i}`);
        assert.equal(
          Buffer.from(await store.open(body, { ...context, version: i + 1 })).toString(),
          `record ${i}`,
          'and a third process',
        );
      }
      const ids = new Set(sealed.map((body) => Buffer.from(body).toString('hex', 3, 19)));
      assert.equal(ids.size, 1, 'every record names the same data key');
    },
  );
}
