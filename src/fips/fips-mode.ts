/**
 * FIPS mode at start (docs/fips.md): Node must run on an OpenSSL 3 FIPS
 * provider, the known-answer self-tests must pass, and every algorithm in
 * use must be approved; otherwise the server refuses to start.
 */
import { CaduceusError } from '../errors/index.js';
import { getFips } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { KeyManager } from '../keys/ports.js';
import { algorithmsInUse, policyViolations, type AlgorithmUse, type SigningKeys } from './policy.js';
import { runSelfTests, knownAnswerTests, type SelfTest } from './self-tests.js';

/** Why FIPS mode refused to start; the message is safe for an operator's terminal. */
export class FipsError extends CaduceusError {
  override readonly name = 'FipsError';
  readonly code = 'FIPS_REFUSED';
  readonly operatorSafe = true;
}

/** What the runtime checks use; tests replace them, the server never does. */
export interface FipsRuntimeOptions {
  /** node:crypto getFips by default: 1 when the OpenSSL FIPS provider is active. */
  readonly getFips?: () => number;
  readonly selfTests?: readonly SelfTest[];
}

/** The report of `caduceus fips report` and of the start-up log line. */
export interface FipsReport {
  readonly fipsMode: boolean;
  /** True when OpenSSL runs with its FIPS provider (crypto.getFips() is 1). */
  readonly fipsProvider: boolean;
  readonly openssl: string;
  readonly algorithms: readonly AlgorithmUse[];
  /** Unapproved uses; FIPS mode refuses to start while there is any. */
  readonly violations: readonly string[];
}

/** Provider first, then the self-tests: both before anything else opens. */
export function checkFipsRuntime(options: FipsRuntimeOptions = {}): void {
  if ((options.getFips ?? getFips)() !== 1) {
    throw new FipsError(
      'CADUCEUS_FIPS=on but Node is not running on an OpenSSL FIPS provider (crypto.getFips() is not 1); see docs/fips.md',
    );
  }
  const failed = runSelfTests(options.selfTests ?? knownAnswerTests);
  if (failed.length > 0) throw new FipsError(`FIPS self-tests failed: ${failed.join(', ')}`);
}

/** The signing keys of both purposes, from the key manager. */
export async function signingKeysOf(keys: KeyManager): Promise<SigningKeys[]> {
  return [
    { purpose: 'token-signing', keys: await keys.publicKeys('token-signing') },
    { purpose: 'audit-signing', keys: await keys.publicKeys('audit-signing') },
  ];
}

/** The algorithms in use and what FIPS mode would refuse. */
export function fipsReport(
  config: Config,
  signing: readonly SigningKeys[],
  options: FipsRuntimeOptions = {},
): FipsReport {
  const algorithms = algorithmsInUse(config, signing);
  return {
    fipsMode: config.fips,
    fipsProvider: (options.getFips ?? getFips)() === 1,
    openssl: process.versions.openssl,
    algorithms,
    violations: policyViolations(algorithms),
  };
}

/**
 * In FIPS mode, refuses a configuration or keyring with an unapproved
 * algorithm and logs the algorithms in use in one line; does nothing otherwise.
 */
export async function enforceFipsPolicy(
  config: Config,
  keys: KeyManager,
  logger: Logger,
  options: FipsRuntimeOptions = {},
): Promise<FipsReport | null> {
  if (!config.fips) return null;
  const report = fipsReport(config, await signingKeysOf(keys), options);
  if (report.violations.length > 0) throw new FipsError(`FIPS mode refuses: ${report.violations.join('; ')}`);
  logger.info(
    {
      event: 'fips.mode',
      openssl: report.openssl,
      algorithms: report.algorithms.map((use) => `${use.use}: ${use.algorithm}`),
    },
    'FIPS mode: provider active, self-tests passed, approved algorithms only',
  );
  return report;
}
