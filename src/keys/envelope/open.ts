import { CaduceusError } from '../../errors/index.js';
import type { Logger } from 'pino';
import type { Config } from '../../config/index.js';
import type { Breakers } from '../../lib/circuit-breaker.js';
import type { DataKeyStore } from '../../storage/ports.js';
import { identitySealer } from '../identity-sealer.js';
import { openLocalKeyWrapper } from '../local/local-key-wrapper.js';
import { throwKeyringFailure } from '../local/open-configured.js';
import type { MasterKey } from '../local/master-key.js';
import type { KeyWrapper, Sealer } from '../ports.js';
import { createEnvelopeSealer } from './envelope-sealer.js';

/** Thrown when the configured key manager cannot be opened; the message names settings, never secrets. */
export class KeyManagerStartError extends CaduceusError {
  override readonly name = 'KeyManagerStartError';
  readonly code = 'KEY_MANAGER_START_FAILED';
  readonly operatorSafe = true;
}

async function openPkcs11(config: Config): Promise<KeyWrapper> {
  const settings = config.keys.pkcs11;
  if (settings === null)
    throw new KeyManagerStartError('CADUCEUS_KEY_MANAGER=pkcs11 needs the CADUCEUS_PKCS11_ settings');
  // Loaded only when selected: the native PKCS#11 binding stays out of `local` deployments.
  const { openPkcs11KeyWrapper } = await import('../pkcs11/index.js');
  return openPkcs11KeyWrapper({
    modulePath: settings.modulePath,
    tokenLabel: settings.tokenLabel,
    pin: settings.pin,
    callTimeoutMs: config.keys.timeoutMs,
  });
}

/**
 * The KeyWrapper CADUCEUS_KEY_MANAGER selects. The `local` adapter in
 * production starts with a loud warning (its KEKs are in this process's
 * memory and on disk under the master key); CADUCEUS_REQUIRE_HSM=true
 * refuses it before this point (src/config/keys.ts).
 */
export async function openKeyWrapper(config: Config, masterKey: MasterKey, logger: Logger): Promise<KeyWrapper> {
  switch (config.keys.manager) {
    case 'pkcs11':
      return openPkcs11(config);
    case 'local':
      if (config.env === 'production') {
        logger.warn(
          { event: 'keys.local_key_manager_in_production' },
          'WARNING: production is running with the local key manager: key-encryption keys are in a file sealed by the master key, not in an HSM. Set CADUCEUS_KEY_MANAGER=pkcs11 (and CADUCEUS_REQUIRE_HSM=true) to keep them in hardware',
        );
      }
      return openLocalKeyWrapper({ path: config.keys.kekKeyringPath, masterKey }).catch((error: unknown) =>
        throwKeyringFailure(config.keys.kekKeyringPath, 'CADUCEUS_KEK_KEYRING', error),
      );
  }
}

/** The sealer every stored body goes through, and what to close at shutdown. */
export interface KeyProtection {
  readonly sealer: Sealer;
  /** Null when CADUCEUS_ENCRYPTION=off. */
  readonly wrapper: KeyWrapper | null;
  close(): Promise<void>;
}

/** What {@link openKeyProtection} needs from the process. */
export interface KeyProtectionDependencies {
  readonly masterKey: MasterKey;
  readonly dataKeys: DataKeyStore;
  readonly breakers: Breakers;
  readonly logger: Logger;
}

/**
 * Opens envelope encryption as configured: the key wrapper, the `key-manager`
 * breaker (CADUCEUS_KEY_MANAGER_TIMEOUT_MS) and the envelope sealer. With
 * CADUCEUS_ENCRYPTION=off (never in production) bodies are stored unsealed,
 * with a warning at start.
 */
export async function openKeyProtection(config: Config, deps: KeyProtectionDependencies): Promise<KeyProtection> {
  if (config.keys.encryption === 'off') {
    deps.logger.warn(
      { event: 'keys.encryption_off' },
      'WARNING: CADUCEUS_ENCRYPTION=off: resource bodies are stored unsealed (benchmarks and diagnostics only)',
    );
    return { sealer: identitySealer, wrapper: null, close: () => Promise.resolve() };
  }
  const wrapper = await openKeyWrapper(config, deps.masterKey, deps.logger);
  const breaker = deps.breakers.create({
    name: 'key-manager',
    timeoutMs: config.keys.timeoutMs,
    resetMs: config.breakers.resetMs,
  });
  const sealer = createEnvelopeSealer({
    wrapper,
    store: deps.dataKeys,
    breaker,
    cacheSize: config.keys.dataKeyCacheSize,
    currentRefreshMs: config.keys.dataKeyRefreshMs,
  });
  return { sealer, wrapper, close: () => wrapper.close() };
}
