/**
 * Seeds patients `from` to `to` (exclusive) of bench/patients.ts into the
 * database of CADUCEUS_DATA_DIR through the same resource engine, sealer and
 * search tokenizer the server uses, so the rows are exactly what API creates
 * would write. Only durability differs: SQLite commits with synchronous=OFF
 * (`bulkLoad`), since a crashed seed is simply redone; one million API
 * creates at ~450/s would take over half an hour.
 *
 * Usage: node --import tsx bench/search-seed.ts FROM TO
 */
import { pino } from 'pino';
import { loadConfig } from '../src/config/index.js';
import { createBreakers } from '../src/lib/circuit-breaker.js';
import { openSearchTokenization } from '../src/resources/search/open-tokenization.js';
import { openKeyProtection } from '../src/keys/envelope/index.js';
import { createSecurityEvents } from '../src/lib/security-events.js';
import { createResourceEngine } from '../src/resources/engine/engine.js';
import { createResourceDefinitions } from '../src/resources/index.js';
import { openRuntime } from '../src/runtime.js';
import { benchPatient } from './patients.js';

const [from = 0, to = 0] = process.argv.slice(2).map(Number);
/** Creates in flight at once: sealing is asynchronous, commits are not. */
const concurrency = 32;

const config = loadConfig();
const logger = pino({ level: 'warn' });
const breakers = createBreakers(createSecurityEvents(logger));
const runtime = await openRuntime(config, logger, { bulkLoad: true });
const protection = await openKeyProtection(config, {
  masterKey: runtime.masterKey,
  dataKeys: runtime.db.dataKeys,
  breakers,
  logger,
});
// Blind index tokens under the index key, exactly as the server writes them (docs/blind-indexes.md).
const search = await openSearchTokenization({ wrapper: protection.wrapper, store: runtime.db.indexKeys, logger });
try {
  const engine = createResourceEngine({ store: runtime.db.resources, sealer: protection.sealer });
  const [patients] = createResourceDefinitions(search.tokenizer);
  if (patients?.type !== 'Patient') throw new Error('no Patient definition');
  const started = performance.now();
  for (let start = from; start < to; start += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, to - start) }, (_, i) =>
      engine.create(patients, benchPatient(start + i)),
    );
    await Promise.all(batch);
    if ((start - from) % 100_000 < concurrency && start > from) {
      process.stderr.write(
        `  seeded ${String(start)} (${Math.round((start - from) / ((performance.now() - started) / 1000))}/s)\n`,
      );
    }
  }
} finally {
  search.close();
  await protection.close();
  await runtime.close();
  breakers.shutdown();
}
