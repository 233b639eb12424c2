import pkcs11js from 'pkcs11js';
import { ckrName, HsmError, isSessionLost } from './errors.js';
import type { Pkcs11Library } from './library.js';

/** The raw binding and a logged-in session handle, as one operation sees them. */
export interface SessionScope {
  readonly api: pkcs11js.PKCS11;
  readonly session: pkcs11js.Handle;
}

/** One step of work on the token: synchronous calls, then at most one *Async call whose promise it returns. */
export type SessionOperation<T> = (scope: SessionScope) => T | Promise<T>;

/** Where and how a session logs in. */
export interface SessionOptions {
  readonly library: Pkcs11Library;
  readonly tokenLabel: string;
  readonly pin: string;
  /** Longest an asynchronous HSM call may run before its session is abandoned. */
  readonly callTimeoutMs: number;
}

const timedOut = Symbol('timed out');

function loginError(error: unknown): HsmError {
  const ckr = ckrName(error);
  if (ckr === 'CKR_PIN_INCORRECT' || ckr === 'CKR_PIN_INVALID' || ckr === 'CKR_PIN_LEN_RANGE') {
    return new HsmError(
      'configuration',
      'PKCS#11 login refused: the PIN is wrong; check CADUCEUS_PKCS11_PIN_FILE or CADUCEUS_PKCS11_PIN',
      ckr,
    );
  }
  if (ckr === 'CKR_PIN_LOCKED' || ckr === 'CKR_PIN_EXPIRED') {
    return new HsmError(
      'configuration',
      "PKCS#11 login refused: the user PIN is locked or expired; the token's security officer must reset it",
      ckr,
    );
  }
  return new HsmError('unavailable', 'PKCS#11 login failed', ckr);
}

/**
 * One logged-in PKCS#11 session on the token with a given label, used by one
 * operation at a time. A PKCS#11 session holds at most one active
 * cryptographic operation (v2.40 §5.1), so operations run through a queue.
 *
 * pkcs11js calls are synchronous and block the event loop for as long as the
 * HSM takes, except the *Async variants, which run on a libuv worker thread.
 * Short calls (find, init, get attribute) stay synchronous; the calls that do
 * the cryptography are asynchronous and bounded by `callTimeoutMs`. A
 * synchronous call cannot be interrupted from JavaScript: on a network HSM,
 * its client library's own timeout bounds it (docs/hsm.md).
 *
 * When the session is lost (token removed, session closed, login gone) the
 * operation is retried once on a new session, found again by token label.
 */
export class TokenSession {
  readonly #options: SessionOptions;
  #slot: pkcs11js.Handle | null = null;
  #session: pkcs11js.Handle | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** Until the first login succeeds, a missing token or a bad PIN is a configuration error. */
  #started = false;

  constructor(options: SessionOptions) {
    this.#options = options;
  }

  /** Opens the session and logs in now, so a wrong module, label or PIN stops the server at start. */
  async start(): Promise<void> {
    await this.run(() => undefined);
    this.#started = true;
  }

  /** Runs one operation, after every earlier one, on a live logged-in session; every failure is an HsmError. */
  run<T>(operation: SessionOperation<T>): Promise<T> {
    const result = this.#queue
      .then(() => this.#attempt(operation))
      .catch((error: unknown) => {
        throw error instanceof HsmError ? error : new HsmError('unavailable', 'A PKCS#11 call failed', ckrName(error));
      });
    this.#queue = result.catch(() => undefined);
    return result;
  }

  /** Waits for queued operations, then closes the session. Never logs out: other handles in this process share the login. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    this.#forget();
  }

  async #attempt<T>(operation: SessionOperation<T>): Promise<T> {
    if (this.#closed) throw new HsmError('closed', 'The PKCS#11 handle is closed');
    try {
      return await this.#once(operation);
    } catch (error) {
      if (!isSessionLost(error)) throw error;
      this.#forget();
      try {
        return await this.#once(operation);
      } catch (again) {
        if (isSessionLost(again)) throw new HsmError('unavailable', 'The PKCS#11 token is unavailable', ckrName(again));
        throw again;
      }
    }
  }

  async #once<T>(operation: SessionOperation<T>): Promise<T> {
    const session = this.#ensureSession();
    const work = operation({ api: this.#options.library.api, session });
    if (!(work instanceof Promise)) return work;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<typeof timedOut>((resolve) => {
      timer = setTimeout(() => {
        resolve(timedOut);
      }, this.#options.callTimeoutMs);
    });
    try {
      const outcome = await Promise.race([work, deadline]);
      if (outcome !== timedOut) return outcome;
    } finally {
      clearTimeout(timer);
    }
    // The worker thread still owns the session: abandon it, close it once the call returns.
    if (this.#session === session) this.#session = null;
    const closeLater = (): void => {
      this.#closeQuietly(session);
    };
    work.then(closeLater, closeLater);
    throw new HsmError('unavailable', `A PKCS#11 call took longer than ${this.#options.callTimeoutMs} ms`);
  }

  #ensureSession(): pkcs11js.Handle {
    if (this.#session !== null) return this.#session;
    const { api } = this.#options.library;
    this.#slot ??= this.#findSlot();
    let session: pkcs11js.Handle;
    try {
      session = api.C_OpenSession(this.#slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    } catch (error) {
      this.#slot = null;
      throw error;
    }
    try {
      api.C_Login(session, pkcs11js.CKU_USER, this.#options.pin);
    } catch (error) {
      // Cryptoki's login is per token and process: another handle of ours may hold it already.
      if (ckrName(error) !== 'CKR_USER_ALREADY_LOGGED_IN') {
        this.#closeQuietly(session);
        throw isSessionLost(error) ? error : loginError(error);
      }
    }
    this.#session = session;
    return session;
  }

  #findSlot(): pkcs11js.Handle {
    const { api } = this.#options.library;
    const slots = api.C_GetSlotList(true);
    for (const slot of slots) {
      // Token labels are 32 bytes, padded with spaces (PKCS#11 v2.40 §3.2 CK_TOKEN_INFO).
      if (api.C_GetTokenInfo(slot).label.trimEnd() === this.#options.tokenLabel) return slot;
    }
    const message = `CADUCEUS_PKCS11_TOKEN_LABEL: no token with that label is present (${slots.length} token(s) seen)`;
    throw new HsmError(
      this.#started ? 'unavailable' : 'configuration',
      message,
      this.#started ? 'CKR_TOKEN_NOT_PRESENT' : undefined,
    );
  }

  #forget(): void {
    if (this.#session !== null) this.#closeQuietly(this.#session);
    this.#session = null;
    this.#slot = null;
  }

  #closeQuietly(session: pkcs11js.Handle): void {
    try {
      this.#options.library.api.C_CloseSession(session);
    } catch {
      // Already gone with its token or its slot; nothing to release.
    }
  }
}
