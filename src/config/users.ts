import { availableParallelism } from 'node:os';
import { ConfigError, integer, type Env } from './readers.js';

/** Password hashing, its queue, and login lockout (docs/users.md). */
export interface UsersConfig {
  /** argon2id cost (RFC 9106 §4; OWASP Password Storage: m=19 MiB, t=2, p=1 as the floor). */
  readonly argon2: { readonly memoryKiB: number; readonly timeCost: number; readonly parallelism: number };
  /** PBKDF2-HMAC-SHA-256 iterations for FIPS mode (OWASP: 600 000). */
  readonly pbkdf2Iterations: number;
  /**
   * The bounded hashing queue: hashes run at once, hashes allowed to wait, hashing ms per second (0: no budget); more answer 503.
   * `nice`: how much lower than the process's the hashing threads' scheduling priority is (0–19).
   */
  readonly hashing: {
    readonly maxConcurrent: number;
    readonly maxWaiting: number;
    readonly budgetMsPerSecond: number;
    readonly nice: number;
  };
  /** Login lockout with backoff, per account and per source IP. */
  readonly lockout: {
    readonly accountFailures: number;
    readonly ipFailures: number;
    readonly baseSeconds: number;
    readonly maxSeconds: number;
    readonly windowSeconds: number;
  };
}

/** Reads the CADUCEUS_ARGON2_*, CADUCEUS_PBKDF2_*, CADUCEUS_PASSWORD_HASH_* and CADUCEUS_LOCKOUT_* settings. */
export function loadUsersConfig(env: Env): UsersConfig {
  const baseSeconds = integer(env, 'CADUCEUS_LOCKOUT_BASE_SECONDS', 60, 1, 86_400);
  const maxSeconds = integer(env, 'CADUCEUS_LOCKOUT_MAX_SECONDS', 3600, 1, 604_800);
  if (baseSeconds > maxSeconds)
    throw new ConfigError('CADUCEUS_LOCKOUT_BASE_SECONDS must not exceed CADUCEUS_LOCKOUT_MAX_SECONDS');
  // One core always stays with the event loop; the CPU share is of all cores (docs/users.md "The hashing queue").
  const cores = availableParallelism();
  const cpuPercent = integer(env, 'CADUCEUS_PASSWORD_HASH_CPU_PERCENT', 25, 0, 100);
  return {
    argon2: {
      memoryKiB: integer(env, 'CADUCEUS_ARGON2_MEMORY_KIB', 19_456, 8192, 4_194_304),
      timeCost: integer(env, 'CADUCEUS_ARGON2_TIME_COST', 2, 1, 100),
      parallelism: 1,
    },
    pbkdf2Iterations: integer(env, 'CADUCEUS_PBKDF2_ITERATIONS', 600_000, 100_000, 100_000_000),
    hashing: {
      maxConcurrent: integer(env, 'CADUCEUS_PASSWORD_HASH_CONCURRENCY', Math.max(1, cores - 1), 1, 64),
      maxWaiting: integer(env, 'CADUCEUS_PASSWORD_HASH_QUEUE', 32, 0, 100_000),
      budgetMsPerSecond: cpuPercent * cores * 10,
      nice: integer(env, 'CADUCEUS_PASSWORD_HASH_NICE', 19, 0, 19),
    },
    lockout: {
      accountFailures: integer(env, 'CADUCEUS_LOCKOUT_ACCOUNT_FAILURES', 5, 1, 1000),
      ipFailures: integer(env, 'CADUCEUS_LOCKOUT_IP_FAILURES', 20, 1, 100_000),
      baseSeconds,
      maxSeconds,
      windowSeconds: integer(env, 'CADUCEUS_LOCKOUT_WINDOW_SECONDS', 900, 1, 604_800),
    },
  };
}
