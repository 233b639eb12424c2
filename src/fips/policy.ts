/**
 * The algorithms Caduceus uses, as the configuration and the keyring say,
 * and whether each is FIPS 140-3 approved (docs/fips.md "Policy"): AES-GCM,
 * SHA-2, HMAC, PBKDF2 (SP 800-132), ECDSA P-256/P-384 and RSA PKCS#1 v1.5 or
 * PSS of 2048 bits or more (FIPS 186-5). Our own signatures use ES256 or
 * PS256 only; RS256 is accepted for verifying an external IdP's tokens.
 */
import { clientAssertionAlgorithms } from '../auth/oidc/clients.js';
import type { Config } from '../config/index.js';
import type { KeyPurpose, PublicKeyInfo } from '../keys/ports.js';

/** One use of cryptography and the algorithm it runs. */
export interface AlgorithmUse {
  readonly use: string;
  readonly algorithm: string;
  readonly approved: boolean;
}

/** The signing keys of one purpose, as the key manager lists them. */
export interface SigningKeys {
  readonly purpose: KeyPurpose;
  readonly keys: readonly PublicKeyInfo[];
}

/** NIST SP 800-131A: RSA below 2048 bits is disallowed for signatures. */
const minRsaBits = 2048;
const approvedCurves: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp384r1: 'P-384' };

function keyDescription(key: PublicKeyInfo): { text: string; approvedSize: boolean } {
  const details = key.key.asymmetricKeyDetails;
  if (key.key.asymmetricKeyType === 'rsa') {
    const bits = details?.modulusLength ?? 0;
    return { text: `RSA ${bits}`, approvedSize: bits >= minRsaBits };
  }
  const curve = approvedCurves[details?.namedCurve ?? ''];
  return { text: curve ?? `EC ${details?.namedCurve ?? 'unknown'}`, approvedSize: curve !== undefined };
}

function signingUses(signing: readonly SigningKeys[]): AlgorithmUse[] {
  return signing.flatMap(({ purpose, keys }) =>
    keys.map((key) => {
      const { text, approvedSize } = keyDescription(key);
      // Our own signatures: ES256 or PS256 only (docs/fips.md); RS256 is kept for verifying others.
      return {
        use: `${purpose} key ${key.kid.slice(0, 8)}`,
        algorithm: `${key.alg} (${text})`,
        approved: approvedSize && (key.alg === 'ES256' || key.alg === 'PS256'),
      };
    }),
  );
}

function storageUses(config: Config): AlgorithmUse[] {
  const uses: AlgorithmUse[] = [
    {
      use: 'TLS listener',
      algorithm: 'TLS 1.3, AES-GCM suites (the FIPS provider offers no ChaCha20-Poly1305)',
      approved: true,
    },
    {
      use: 'resource sealing',
      algorithm: config.keys.encryption === 'on' ? 'AES-256-GCM' : 'none (CADUCEUS_ENCRYPTION=off)',
      approved: true,
    },
    {
      use: 'data-key wrapping',
      algorithm:
        config.keys.manager === 'pkcs11'
          ? 'AES-256-GCM in the PKCS#11 token (CKM_AES_GCM)'
          : 'AES-256-GCM under keyrings sealed by the master key (AES-256-GCM)',
      approved: true,
    },
    { use: 'search blind index', algorithm: 'HMAC-SHA-256', approved: true },
    { use: 'audit hash chain', algorithm: 'SHA-256', approved: true },
    { use: 'secret comparison, cache keys', algorithm: 'SHA-256', approved: true },
  ];
  if (config.databaseTls !== null)
    uses.push({ use: 'TLS to PostgreSQL', algorithm: `TLS 1.2+ (${config.databaseTls.mode})`, approved: true });
  if (config.redisTls !== null) uses.push({ use: 'TLS to Redis', algorithm: 'TLS 1.2+ (verify-full)', approved: true });
  if (config.monitoring.webhook !== null)
    uses.push({ use: 'alert webhook signature', algorithm: 'HMAC-SHA-256', approved: true });
  return uses;
}

function identityUses(config: Config): AlgorithmUse[] {
  const uses: AlgorithmUse[] = [
    // New hashes only: argon2id hashes stored before FIPS mode are re-hashed at the next login by the password hasher (src/auth/users/).
    config.fips
      ? {
          use: 'password hashing (new hashes)',
          algorithm: `PBKDF2-HMAC-SHA-256, ${config.users.pbkdf2Iterations} iterations`,
          approved: true,
        }
      : { use: 'password hashing (new hashes)', algorithm: 'argon2id', approved: false },
  ];
  // SMART Backend Services client assertions: RSA PKCS#1 v1.5 with SHA-384, ECDSA P-384 (FIPS 186-5).
  uses.push({
    use: 'client assertion verification (private_key_jwt)',
    algorithm: clientAssertionAlgorithms.join(', '),
    approved: true,
  });
  for (const issuer of config.auth.externalIssuers) {
    // The issuers file admits RS256, PS256 and ES256 only, and src/auth/external/jwks-keys.ts drops RSA keys under 2048 bits.
    uses.push({
      use: `token verification (external issuer ${issuer.issuer})`,
      algorithm: `${issuer.algorithms.join(', ')}; RSA keys under 2048 bits ignored`,
      approved: true,
    });
  }
  return uses;
}

/** Every use of cryptography with its algorithm, from the configuration and the signing keys. */
export function algorithmsInUse(config: Config, signing: readonly SigningKeys[]): AlgorithmUse[] {
  return [...storageUses(config), ...signingUses(signing), ...identityUses(config)];
}

/** What FIPS mode refuses: each unapproved use, named. */
export function policyViolations(uses: readonly AlgorithmUse[]): string[] {
  return uses.filter((use) => !use.approved).map((use) => `${use.use}: ${use.algorithm} is not FIPS 140-3 approved`);
}
