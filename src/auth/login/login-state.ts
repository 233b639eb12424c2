import type { Role } from '../../http/principal.js';
import type { KeyValueStore } from '../../storage/ports.js';

/** RFC 8176 values the pages put in `amr`. */
export type AuthMethod = 'pwd' | 'otp' | 'hwk' | 'swk' | 'user' | 'mfa';

/**
 * One browser's progress through one interaction, kept server-side in the
 * key-value store (so any process behind the load balancer can serve the
 * next step). It holds no secret in clear: the pending TOTP seed is sealed.
 */
export interface LoginState {
  readonly uid: string;
  /** browserFingerprint of the browser that began it: another browser cannot continue it. */
  readonly browser: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  lastSeenAt: number;
  /** Set once the first factor passed. */
  userId: string | null;
  role: Role | null;
  /** The methods passed so far, in order. */
  amr: AuthMethod[];
  /** True once every required factor passed. */
  complete: boolean;
  /** A TOTP seed being enrolled, sealed (base64url). */
  pendingTotp: string | null;
  /** The WebAuthn challenge of the ceremony in progress, and what it is for. */
  challenge: { readonly value: string; readonly purpose: 'login' | 'register' } | null;
  /** True between an enrolment and the one page that shows the new recovery codes. */
  recoveryCodesDue: boolean;
  /** Wrong second-factor codes in this interaction. */
  mfaFailures: number;
}

/** Login-session timeouts (CADUCEUS_SESSION_IDLE_SECONDS, CADUCEUS_SESSION_ABSOLUTE_SECONDS). */
export interface SessionTimeouts {
  readonly idleSeconds: number;
  readonly absoluteSeconds: number;
}

const key = (uid: string): string => `login:${uid}`;

/** Reads, expires and writes login states; idle and absolute timeouts are enforced on every read (HIPAA 164.312(a)(2)(iii) automatic logoff). */
export function createLoginStates(kv: KeyValueStore, timeouts: SessionTimeouts, now: () => number = Date.now) {
  const expired = (state: LoginState, at: number): boolean =>
    at - state.lastSeenAt > timeouts.idleSeconds * 1000 || at - state.createdAt > timeouts.absoluteSeconds * 1000;
  /** Stores the state, touched now; it lives no longer than either timeout allows. */
  async function save(state: LoginState): Promise<void> {
    const at = now();
    state.lastSeenAt = at;
    const ttl = Math.min(timeouts.idleSeconds * 1000, state.createdAt + timeouts.absoluteSeconds * 1000 - at);
    if (ttl <= 0) {
      await kv.delete(key(state.uid));
      return;
    }
    await kv.set(key(state.uid), JSON.stringify(state), ttl);
  }
  return {
    fresh(uid: string, browser: string): LoginState {
      const at = now();
      return {
        uid,
        browser,
        createdAt: at,
        lastSeenAt: at,
        userId: null,
        role: null,
        amr: [],
        complete: false,
        pendingTotp: null,
        challenge: null,
        recoveryCodesDue: false,
        mfaFailures: 0,
      };
    },

    /** The state of this uid for this browser, touched (a request is activity); undefined when absent, another browser's, or timed out. */
    async load(uid: string, browser: string): Promise<LoginState | undefined> {
      const raw = await kv.get(key(uid));
      if (raw === undefined) return undefined;
      const state = JSON.parse(raw) as LoginState;
      if (state.uid !== uid || state.browser !== browser) return undefined;
      if (expired(state, now())) {
        await kv.delete(key(uid));
        return undefined;
      }
      await save(state);
      return state;
    },

    save,

    remove(uid: string): Promise<void> {
      return kv.delete(key(uid));
    },
  };
}

/** Login states over one key-value store. */
export type LoginStates = ReturnType<typeof createLoginStates>;
