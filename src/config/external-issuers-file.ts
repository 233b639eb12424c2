/**
 * The external issuers file (CADUCEUS_EXTERNAL_ISSUERS_FILE, docs/external-idp.md):
 * a hospital's own identity providers whose access tokens the gate accepts.
 * Validated strictly: an unknown field, a plain-http jwks_uri or a role that
 * Caduceus does not have is a start-up error, never a silent default.
 */
import { CaduceusError } from '../errors/index.js';
import path from 'node:path';
import { parseCidrList, type CidrBlock } from '../lib/cidr.js';
import type { SigningAlgorithm } from '../lib/signing-algorithm.js';

/** A JWT `typ` an issuer profile accepts: RFC 9068's `at+jwt`, or plain `JWT` for IdPs that send it. */
export type AcceptedTokenType = 'at+jwt' | 'JWT';
import { isRole, type Role } from './roles.js';

/** One external issuer, as validated. */
export interface ExternalIssuerConfig {
  /** The exact `iss` of its tokens. */
  readonly issuer: string;
  /** An https:// URL of its JSON Web Key Set. */
  readonly jwksUri: string;
  /** The `aud` its tokens carry for this API. */
  readonly audience: string;
  readonly algorithms: readonly SigningAlgorithm[];
  readonly acceptedTyp: readonly AcceptedTokenType[];
  /** Path of the claim that holds the IdP's role or group names (a string or an array of strings). */
  readonly roleClaim: readonly string[];
  /** IdP role or group name → Caduceus role. */
  readonly roles: Readonly<Record<string, Role>>;
  /** Claim holding the scopes: a space-delimited string (RFC 9068 `scope`, Entra `scp`) or an array. */
  readonly scopeClaim: string;
  /** Claim naming the client (`client_id`, Keycloak and Entra `azp`, Okta `cid`). */
  readonly clientIdClaim: string;
  /** Claim with the token's unique id (`jti`; Entra `uti`). */
  readonly tokenIdClaim: string;
  /** Extra trusted CA (PEM file) for the jwks_uri's certificate; null: the system's. */
  readonly caFile: string | null;
  /** Addresses or CIDRs an internal-looking jwks_uri host may resolve to. */
  readonly allowAddresses: readonly CidrBlock[];
  /** Least seconds between two refetches of the keys for unknown kids (1–3600, default 30). */
  readonly refreshCooldownSeconds: number;
}

/** A problem in the file; the message names the field, never a value. */
export class IssuersFileError extends CaduceusError {
  override readonly name = 'IssuersFileError';
  readonly code = 'ISSUERS_FILE_INVALID';
  readonly operatorSafe = true;
}

const fields = new Set([
  'issuer',
  'jwks_uri',
  'audience',
  'algorithms',
  'accepted_typ',
  'role_claim',
  'roles',
  'scope_claim',
  'client_id_claim',
  'token_id_claim',
  'jwks_ca_file',
  'allow_addresses',
  'jwks_refresh_cooldown_seconds',
]);
const algorithms: readonly SigningAlgorithm[] = ['RS256', 'PS256', 'ES256'];
const types: readonly AcceptedTokenType[] = ['at+jwt', 'JWT'];
const claimName = /^[\x21-\x7e]{1,128}$/;

type Entry = Readonly<Record<string, unknown>>;

function httpsUrl(value: unknown, where: string): string {
  if (typeof value !== 'string' || !URL.canParse(value)) throw new IssuersFileError(`${where} must be an absolute URL`);
  const url = new URL(value);
  if (url.protocol !== 'https:') throw new IssuersFileError(`${where} must be an https:// URL`);
  if (url.username !== '' || url.password !== '' || url.hash !== '')
    throw new IssuersFileError(`${where} must not carry credentials or a fragment`);
  return value;
}

function subset<T extends string>(value: unknown, allowed: readonly T[], where: string): T[] {
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    new Set(value).size !== value.length ||
    !value.every((item) => typeof item === 'string' && (allowed as readonly string[]).includes(item))
  ) {
    throw new IssuersFileError(`${where} must be a non-empty list of distinct values from: ${allowed.join(', ')}`);
  }
  return value as T[];
}

function claim(value: unknown, fallback: string, where: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !claimName.test(value)) throw new IssuersFileError(`${where} must be a claim name`);
  return value;
}

/** `realm_access.roles` or, for claim names holding dots, `["https://example.org/roles"]`. */
function claimPath(value: unknown, where: string): string[] {
  const parts = typeof value === 'string' ? value.split('.') : value;
  if (
    !Array.isArray(parts) ||
    parts.length === 0 ||
    parts.length > 8 ||
    !parts.every((part) => typeof part === 'string' && claimName.test(part))
  ) {
    throw new IssuersFileError(`${where} must be a dotted claim path or a list of claim names`);
  }
  return parts as string[];
}

function roleMap(value: unknown, where: string): Record<string, Role> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.keys(value).length === 0) {
    throw new IssuersFileError(`${where} must map the IdP's role names to Caduceus roles`);
  }
  const map: Record<string, Role> = Object.create(null) as Record<string, Role>;
  for (const [name, role] of Object.entries(value)) {
    if (!isRole(role)) throw new IssuersFileError(`${where} maps a name to an unknown Caduceus role`);
    map[name] = role;
  }
  return map;
}

function addresses(value: unknown, where: string): CidrBlock[] {
  if (value === undefined) return [];
  const blocks =
    Array.isArray(value) && value.every((item) => typeof item === 'string') ? parseCidrList(value.join(',')) : null;
  if (blocks === null) throw new IssuersFileError(`${where} must list IP addresses or CIDR subnets`);
  return blocks;
}

function caFile(value: unknown, where: string, baseDir: string): string | null {
  if (value === undefined) return null;
  if (typeof value !== 'string' || value === '') throw new IssuersFileError(`${where} must be a file path`);
  return path.resolve(baseDir, value);
}

function seconds(value: unknown, fallback: number, where: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 3600)
    throw new IssuersFileError(`${where} must be a whole number from 1 to 3600`);
  return value;
}

function issuerEntry(entry: unknown, index: number, baseDir: string): ExternalIssuerConfig {
  const where = `issuers[${index}]`;
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
    throw new IssuersFileError(`${where} must be an object`);
  const e = entry as Entry;
  const unknown = Object.keys(e).find((key) => !fields.has(key));
  if (unknown !== undefined)
    throw new IssuersFileError(`${where} has an unknown field (allowed: ${[...fields].join(', ')})`);
  if (typeof e.audience !== 'string' || e.audience === '')
    throw new IssuersFileError(`${where}.audience must be a non-empty string`);
  return {
    issuer: httpsUrl(e.issuer, `${where}.issuer`),
    jwksUri: httpsUrl(e.jwks_uri, `${where}.jwks_uri`),
    audience: e.audience,
    algorithms: subset(e.algorithms ?? ['RS256'], algorithms, `${where}.algorithms`),
    acceptedTyp: subset(e.accepted_typ ?? ['at+jwt', 'JWT'], types, `${where}.accepted_typ`),
    roleClaim: claimPath(e.role_claim, `${where}.role_claim`),
    roles: roleMap(e.roles, `${where}.roles`),
    scopeClaim: claim(e.scope_claim, 'scope', `${where}.scope_claim`),
    clientIdClaim: claim(e.client_id_claim, 'client_id', `${where}.client_id_claim`),
    tokenIdClaim: claim(e.token_id_claim, 'jti', `${where}.token_id_claim`),
    caFile: caFile(e.jwks_ca_file, `${where}.jwks_ca_file`, baseDir),
    allowAddresses: addresses(e.allow_addresses, `${where}.allow_addresses`),
    refreshCooldownSeconds: seconds(e.jwks_refresh_cooldown_seconds, 30, `${where}.jwks_refresh_cooldown_seconds`),
  };
}

/**
 * Validates the parsed file `{"issuers": [...]}`. Relative `jwks_ca_file`
 * paths are taken from `baseDir` (the file's folder).
 */
export function parseIssuersFile(document: unknown, baseDir: string): ExternalIssuerConfig[] {
  if (
    typeof document !== 'object' ||
    document === null ||
    Array.isArray(document) ||
    Object.keys(document).some((key) => key !== 'issuers') ||
    !Array.isArray((document as Entry).issuers)
  ) {
    throw new IssuersFileError('the file must be an object with one field, "issuers", a list');
  }
  const issuers = ((document as Entry).issuers as unknown[]).map((entry, index) => issuerEntry(entry, index, baseDir));
  if (issuers.length === 0) throw new IssuersFileError('issuers must not be empty');
  if (new Set(issuers.map((entry) => entry.issuer)).size !== issuers.length)
    throw new IssuersFileError('each issuer may appear once');
  return issuers;
}
