/**
 * The keys oidc-provider signs its session and interaction cookies with.
 * Every process of a deployment must share them (a browser's next request
 * may reach another process), so the first process to start draws 256 random
 * bits, seals them through the Sealer (never stored in clear: DESIGN.md
 * "Data protection") and stores them with an atomic set-if-absent; the others
 * read the same sealed value.
 */
import { randomBytes } from 'node:crypto';
import type { Sealer } from '../../keys/ports.js';
import type { KeyValueStore } from '../../storage/ports.js';

const cookieKeyName = 'oidc:cookie-key:v1';
const context = { type: 'oidc-cookie-key', id: 'v1', version: 1 } as const;
/** Ten years: the key lives as long as the deployment; rotating it signs every browser out. */
const cookieKeyTtlMs = 10 * 365 * 86_400_000;

/** Loads (creating on first use) the shared cookie-signing key. */
export async function loadCookieKeys(kv: KeyValueStore, sealer: Sealer): Promise<string[]> {
  let stored = await kv.get(cookieKeyName);
  if (stored === undefined) {
    const sealed = await sealer.seal(randomBytes(32), context);
    await kv.setIfAbsent(cookieKeyName, Buffer.from(sealed).toString('base64'), cookieKeyTtlMs);
    // Whoever won the race: read back the value every process will use.
    stored = await kv.get(cookieKeyName);
    if (stored === undefined) throw new Error('The cookie-signing key could not be stored');
  }
  const key = await sealer.open(Buffer.from(stored, 'base64'), context);
  return [Buffer.from(key).toString('base64url')];
}
