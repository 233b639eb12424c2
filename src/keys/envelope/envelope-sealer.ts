import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Breaker } from '../../lib/circuit-breaker.js';
import type { DataKeyStore } from '../../storage/ports.js';
import type { KeyWrapper, SealContext, Sealer } from '../ports.js';
import { createDataKeyRing } from './data-keys.js';
import { IntegrityError } from './errors.js';
import { additionalData, decodeSealed, encodeHeader, nonceBytes, tagBytes } from './format.js';

/** Options of {@link createEnvelopeSealer}. */
export interface EnvelopeSealerOptions {
  readonly wrapper: KeyWrapper;
  readonly store: DataKeyStore;
  /** The `key-manager` circuit breaker around every wrap and unwrap. */
  readonly breaker: Breaker;
  /** Most unwrapped data keys kept in memory. */
  readonly cacheSize: number;
  /** How long the current data key is used before the store is asked again; default 30 s. */
  readonly currentRefreshMs?: number;
}

/** The envelope sealer, with a view of its data-key cache (for tests and metrics). */
export interface EnvelopeSealer extends Sealer {
  /** Unwrapped data keys in memory now. */
  readonly cachedKeys: number;
}

/**
 * The Sealer of DESIGN.md "Data protection": AES-256-GCM under a data key,
 * a random 96-bit nonce per seal, and AAD binding the format version, the
 * data-key id and the record's type, id and version (format.ts). A body that
 * is truncated, altered or copied into another row fails with an
 * IntegrityError, never with another record's plaintext.
 */
export function createEnvelopeSealer(options: EnvelopeSealerOptions): EnvelopeSealer {
  const ring = createDataKeyRing(options);
  return {
    async seal(plaintext: Uint8Array, context: SealContext): Promise<Uint8Array> {
      const { id, key } = await ring.current();
      const nonce = randomBytes(nonceBytes);
      const header = encodeHeader(id, nonce);
      const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: tagBytes }).setAAD(
        additionalData(header, context),
      );
      return Buffer.concat([header, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    },
    async open(sealed: Uint8Array, context: SealContext): Promise<Uint8Array> {
      const parts = decodeSealed(sealed);
      if (parts === undefined) throw new IntegrityError(context, 'format');
      const key = await ring.byId(parts.dataKeyId);
      if (key === undefined) throw new IntegrityError(context, 'unknown-data-key');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, parts.nonce, { authTagLength: tagBytes })
          .setAAD(additionalData(parts.header, context))
          .setAuthTag(parts.tag);
        const opened = decipher.update(parts.ciphertext);
        // GCM is a stream mode: final() only checks the tag and returns nothing; no copy on every read.
        const rest = decipher.final();
        return rest.length === 0 ? opened : Buffer.concat([opened, rest]);
      } catch {
        throw new IntegrityError(context, 'authentication');
      }
    },
    get cachedKeys() {
      return ring.cachedKeys;
    },
  };
}
