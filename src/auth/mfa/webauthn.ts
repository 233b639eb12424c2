import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { randomUUID } from 'node:crypto';
import type { Sealer } from '../../keys/ports.js';
import { openFactorSecret, sealFactorSecret } from './factor-seal.js';
import type { MfaFactorStore, StoredFactor } from '../../storage/mfa-ports.js';

/** The relying party passkeys are bound to (config: CADUCEUS_WEBAUTHN_RP_ID and the issuer's origin). */
export interface RelyingParty {
  readonly rpId: string;
  readonly origin: string;
  readonly rpName: string;
}

/** What is sealed for a credential: its COSE public key and the transports the browser reported. */
interface SealedCredential {
  readonly publicKey: string;
  readonly transports: string[];
  readonly deviceType: 'singleDevice' | 'multiDevice';
}

/** RFC 8176 method of a passkey: `hwk` for a device-bound key, `swk` for a synced (multi-device) one, whose key lives in software sync. */
export type KeyMethod = 'hwk' | 'swk';

/** A verified passkey assertion. */
export interface PasskeyAssertion {
  readonly userId: string;
  readonly factorId: string;
  readonly method: KeyMethod;
}

const timeoutMs = 120_000;

function isSealedCredential(value: unknown): value is SealedCredential {
  const v = value as Partial<SealedCredential> | null;
  return typeof v?.publicKey === 'string' && Array.isArray(v.transports);
}

async function openCredential(sealer: Sealer, factor: StoredFactor): Promise<SealedCredential> {
  const value = await openFactorSecret(sealer, factor.userId, factor.id, factor.sealed);
  if (!isSealedCredential(value)) throw new TypeError('sealed credential has an unexpected shape');
  return value;
}

/**
 * WebAuthn Level 3 ceremonies through @simplewebauthn/server: user
 * verification required (a passkey is then possession plus PIN or
 * biometric), no attestation (a hospital's users bring their own devices),
 * discoverable credentials so a passkey can log in without a username.
 */
export function createPasskeys(store: MfaFactorStore, sealer: Sealer, rp: RelyingParty) {
  return {
    /** Options for `navigator.credentials.create`; the challenge must be kept server-side until the answer. */
    async registrationOptions(user: {
      readonly id: string;
      readonly username: string;
    }): Promise<PublicKeyCredentialCreationOptionsJSON> {
      const existing = (await store.listByUser(user.id)).filter((factor) => factor.credentialId !== null);
      return generateRegistrationOptions({
        rpName: rp.rpName,
        rpID: rp.rpId,
        userName: user.username,
        userID: new TextEncoder().encode(user.id),
        attestationType: 'none',
        timeout: timeoutMs,
        excludeCredentials: existing.map((factor) => ({ id: factor.credentialId ?? '' })),
        authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      });
    },

    /** Verifies a registration against the kept challenge and stores the credential sealed; null when it does not verify. */
    async register(
      userId: string,
      response: RegistrationResponseJSON,
      expectedChallenge: string,
      now: Date,
    ): Promise<{ factor: StoredFactor; method: KeyMethod } | null> {
      const result = await verifyRegistrationResponse({
        response,
        expectedChallenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.rpId,
        requireUserVerification: true,
      }).catch(() => null);
      if (result?.verified !== true) return null;
      const { credential, credentialDeviceType } = result.registrationInfo;
      const id = randomUUID();
      const secret: SealedCredential = {
        publicKey: Buffer.from(credential.publicKey).toString('base64url'),
        transports: credential.transports ?? [],
        deviceType: credentialDeviceType,
      };
      const factor: StoredFactor = {
        id,
        userId,
        kind: 'webauthn',
        credentialId: credential.id,
        sealed: await sealFactorSecret(sealer, userId, id, secret),
        signCount: credential.counter,
        createdAt: now.toISOString(),
        lastUsedAt: null,
      };
      if ((await store.insert(factor)) !== 'created') return null;
      return { factor, method: credentialDeviceType === 'multiDevice' ? 'swk' : 'hwk' };
    },

    /** Options for `navigator.credentials.get`: the user's credentials, or any discoverable one when `userId` is null. */
    async authenticationOptions(userId: string | null): Promise<PublicKeyCredentialRequestOptionsJSON> {
      const factors =
        userId === null ? [] : (await store.listByUser(userId)).filter((factor) => factor.credentialId !== null);
      return generateAuthenticationOptions({
        rpID: rp.rpId,
        timeout: timeoutMs,
        userVerification: 'required',
        ...(userId !== null && { allowCredentials: factors.map((factor) => ({ id: factor.credentialId ?? '' })) }),
      });
    },

    /**
     * Verifies an assertion; `expectedUserId` (the second-factor step) must
     * own the credential. The signature counter advances by compare-and-set
     * (W3C WebAuthn §6.1.1: a counter that goes back hints at a cloned key).
     */
    async authenticate(
      response: AuthenticationResponseJSON,
      expectedChallenge: string,
      expectedUserId: string | null,
      now: Date,
    ): Promise<PasskeyAssertion | null> {
      const factor = typeof response.id === 'string' ? await store.findByCredentialId(response.id) : undefined;
      if (factor === undefined || (expectedUserId !== null && factor.userId !== expectedUserId)) return null;
      const sealed = await openCredential(sealer, factor);
      const result = await verifyAuthenticationResponse({
        response,
        expectedChallenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.rpId,
        requireUserVerification: true,
        credential: {
          id: factor.credentialId ?? '',
          publicKey: Buffer.from(sealed.publicKey, 'base64url'),
          counter: factor.signCount,
          transports: sealed.transports,
        },
      }).catch(() => null);
      if (result?.verified !== true) return null;
      const advanced = await store.recordUse(
        factor.id,
        factor.signCount,
        result.authenticationInfo.newCounter,
        now.toISOString(),
      );
      if (!advanced) return null;
      return {
        userId: factor.userId,
        factorId: factor.id,
        method: sealed.deviceType === 'multiDevice' ? 'swk' : 'hwk',
      };
    },
  };
}

/** The passkey ceremonies bound to one store, sealer and relying party. */
export type Passkeys = ReturnType<typeof createPasskeys>;
