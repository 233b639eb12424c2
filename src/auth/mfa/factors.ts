import { randomUUID } from 'node:crypto';
import type { Sealer } from '../../keys/ports.js';
import type { KeyValueStore } from '../../storage/ports.js';
import { openFactorSecret, sealFactorSecret } from './factor-seal.js';
import type { MfaFactorStore, StoredFactor } from '../../storage/mfa-ports.js';
import { generateRecoveryCodes, hashRecoveryCode } from './recovery-codes.js';
import { checkTotp, type TotpCheck } from './totp.js';

/** Which factors a user has: decides between the MFA page and enrolment. */
export interface FactorSummary {
  readonly totp: boolean;
  readonly passkey: boolean;
  readonly recoveryCodes: number;
}

async function openTotpSecret(sealer: Sealer, factor: StoredFactor): Promise<string> {
  const value = await openFactorSecret(sealer, factor.userId, factor.id, factor.sealed);
  if (typeof value !== 'string') throw new TypeError('sealed TOTP seed has an unexpected shape');
  return value;
}

/** TOTP factors and recovery codes over the factor store; seeds are sealed, codes hashed. */
export function createTotpFactors(store: MfaFactorStore, sealer: Sealer, kv: KeyValueStore) {
  return {
    async summary(userId: string): Promise<FactorSummary> {
      const factors = await store.listByUser(userId);
      return {
        totp: factors.some((factor) => factor.kind === 'totp'),
        passkey: factors.some((factor) => factor.kind === 'webauthn'),
        recoveryCodes: await store.countRecoveryCodes(userId),
      };
    },

    /**
     * Confirms an enrolment: the first code from the new seed must check
     * (and is spent), then the seed is stored sealed under the new factor's id.
     */
    async enrolTotp(userId: string, secret: string, code: string, now: Date): Promise<TotpCheck> {
      // The replay key is the new factor's id, so the confirming code cannot log in a second time either.
      const id = randomUUID();
      const check = await checkTotp(kv, id, secret, code, now.getTime());
      if (check !== 'ok') return check;
      const sealed = await sealFactorSecret(sealer, userId, id, secret);
      await store.insert({
        id,
        userId,
        kind: 'totp',
        credentialId: null,
        sealed,
        signCount: 0,
        createdAt: now.toISOString(),
        lastUsedAt: now.toISOString(),
      });
      return 'ok';
    },

    /** Checks a code against each TOTP factor of the user; `replayed` when it matched but was used before. */
    async verifyTotp(userId: string, code: string, now: Date): Promise<TotpCheck> {
      let outcome: TotpCheck = 'invalid';
      for (const factor of await store.listByUser(userId)) {
        if (factor.kind !== 'totp') continue;
        const check = await checkTotp(kv, factor.id, await openTotpSecret(sealer, factor), code, now.getTime());
        if (check === 'ok') {
          await store.recordUse(factor.id, factor.signCount, factor.signCount, now.toISOString());
          return 'ok';
        }
        if (check === 'replayed') outcome = 'replayed';
      }
      return outcome;
    },

    /** A new set of recovery codes (the old set stops working); the codes are returned once and stored hashed. */
    async issueRecoveryCodes(userId: string, now: Date): Promise<string[]> {
      const codes = generateRecoveryCodes();
      await store.replaceRecoveryCodes(userId, codes.map(hashRecoveryCode), now.toISOString());
      return codes;
    },

    /** Spends one recovery code; true exactly once per code. */
    useRecoveryCode(userId: string, code: string): Promise<boolean> {
      if (code.length > 64) return Promise.resolve(false);
      return store.consumeRecoveryCode(userId, hashRecoveryCode(code));
    },
  };
}

/** TOTP and recovery-code operations bound to one store, sealer and key-value store. */
export type TotpFactors = ReturnType<typeof createTotpFactors>;
