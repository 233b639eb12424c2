/**
 * Assembles the user directory's parts from the configuration and the
 * database: one hashing queue shared by every hash of the process, the
 * hasher, the lockout, the directory (login, findAccount) and administration.
 */
import type { UsersConfig } from '../../config/users.js';
import type { Database } from '../../storage/ports.js';
import { createUserDirectory, type UserDirectoryWithStats } from './directory.js';
import { createHashThreads, type HashThreads } from './hash-threads.js';
import { createHashingQueue, type HashingQueue } from './hashing-queue.js';
import { createLoginLockout, type LoginLockout } from './lockout.js';
import { createPasswordHasher, type PasswordHasher } from './password-hasher.js';
import { loadCommonPasswords } from './password-policy.js';
import { createUserAdmin, type UserAdmin } from './user-admin.js';

/** Everything user-related one process needs. */
export interface UserServices {
  readonly queue: HashingQueue;
  /** The low-priority threads the hashes run on; close() ends them. */
  readonly threads: HashThreads;
  readonly hasher: PasswordHasher;
  readonly lockout: LoginLockout;
  readonly directory: UserDirectoryWithStats;
  readonly admin: UserAdmin;
}

/** What the services are built from. */
export interface UserServicesOptions {
  /** config.users */
  readonly settings: UsersConfig;
  /** FIPS mode (CADUCEUS_FIPS): new hashes use PBKDF2-HMAC-SHA-256 instead of argon2id. */
  readonly fips: boolean;
  readonly db: Pick<Database, 'users' | 'kv' | 'resources'>;
  /** The FHIR base URL, for an absolute `fhirUser`. */
  readonly fhirBaseUrl?: string;
  /** Milliseconds since the epoch, for the lockout; Date.now by default. */
  readonly now?: () => number;
}

/** Builds the services; call once per process (the queue bounds the whole process). */
export function createUserServices(options: UserServicesOptions): UserServices {
  const { settings, db } = options;
  const queue = createHashingQueue(settings.hashing);
  const threads = createHashThreads({ size: settings.hashing.maxConcurrent, nice: settings.hashing.nice });
  const hasher = createPasswordHasher(
    { fips: options.fips, argon2: settings.argon2, pbkdf2Iterations: settings.pbkdf2Iterations },
    queue,
    threads,
  );
  const lockout = createLoginLockout(db.kv, {
    settings: settings.lockout,
    ...(options.now !== undefined && { now: options.now }),
  });
  const directory = createUserDirectory({
    users: db.users,
    hasher,
    lockout,
    busy: () => queue.wouldShed(),
    ...(options.fhirBaseUrl !== undefined && { fhirBaseUrl: options.fhirBaseUrl }),
  });
  const admin = createUserAdmin({
    users: db.users,
    hasher,
    common: loadCommonPasswords(),
    patientExists: async (id) => {
      const current = await db.resources.readCurrent('Patient', id);
      return current !== undefined && !current.deleted;
    },
  });
  return { queue, threads, hasher, lockout, directory, admin };
}
