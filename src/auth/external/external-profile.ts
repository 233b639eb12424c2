/**
 * The issuer profile of an external identity provider (docs/external-idp.md):
 * its keys come from its jwks_uri, and its claims are mapped onto ours
 * before the gate's usual checks (principalFromClaims) run on them.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Breakers } from '../../lib/circuit-breaker.js';
import type { IssuerProfile } from '../issuer-profile.js';
import type { Role } from '../../http/principal.js';
import { TokenError } from '../token-error.js';
import type { ExternalIssuerConfig } from '../../config/external-issuers-file.js';
import { createRemoteJwks, type RemoteJwks } from './remote-jwks.js';

type Claims = Readonly<Record<string, unknown>>;

function valueAt(claims: Claims, path: readonly string[]): unknown {
  let value: unknown = claims;
  for (const name of path) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, name))
      return undefined;
    value = (value as Claims)[name];
  }
  return value;
}

/**
 * The one Caduceus role the IdP's role or group names map to. None, or two
 * different ones, is refused: a principal has exactly one role, and picking
 * one of two would be a guess about privilege.
 */
export function mappedRole(claims: Claims, config: Pick<ExternalIssuerConfig, 'roleClaim' | 'roles'>): Role {
  const raw = valueAt(claims, config.roleClaim);
  const names = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw : [];
  const roles = new Set<Role>();
  for (const name of names) {
    if (typeof name === 'string' && Object.hasOwn(config.roles, name)) roles.add(config.roles[name] as Role);
  }
  const [role, ...others] = roles;
  if (role === undefined || others.length > 0) throw new TokenError('unknown_role');
  return role;
}

/** RFC 9068 §2.2.3 `scope` is one space-delimited string; some IdPs send an array (or Entra's `scp`). */
function scopeString(value: unknown): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((entry) => typeof entry === 'string' && !entry.includes(' ')))
    return value.join(' ');
  throw new TokenError('bad_claim');
}

/** Our claim names filled from the IdP's: role (mapped), client_id, jti and scope; the rest as signed. */
export function mapExternalClaims(claims: Claims, config: ExternalIssuerConfig): Record<string, unknown> {
  const scope = scopeString(claims[config.scopeClaim]);
  const mapped: Record<string, unknown> = {
    ...claims,
    role: mappedRole(claims, config),
    client_id: claims[config.clientIdClaim],
    jti: claims[config.tokenIdClaim],
  };
  if (scope === undefined) delete mapped.scope;
  else mapped.scope = scope;
  return mapped;
}

/** Dependencies of the external profiles. */
export interface ExternalProfileDeps {
  readonly breakers: Breakers;
  readonly logger: Logger;
  /** How long the `jwks` breaker stays open (config.breakers.resetMs). */
  readonly resetMs: number;
  /** Per-profile overrides, for tests (fake clocks, short cooldowns). */
  readonly jwks?: {
    readonly timeoutMs?: number;
    readonly cooldownMs?: number;
    readonly maxAgeMs?: number;
    readonly now?: () => number;
  };
}

function profileFor(config: ExternalIssuerConfig, jwks: RemoteJwks): IssuerProfile {
  return {
    issuer: config.issuer,
    algorithms: config.algorithms,
    typ: config.acceptedTyp,
    audience: config.audience,
    keys: () => jwks.keys(),
    refreshKeys: () => jwks.refresh(),
    mapClaims: (claims) => mapExternalClaims(claims, config),
  };
}

/**
 * One issuer profile per configured external issuer, all fetching their keys
 * through one `jwks` breaker; an empty list creates nothing.
 */
export function createExternalIssuerProfiles(
  configs: readonly ExternalIssuerConfig[],
  deps: ExternalProfileDeps,
): IssuerProfile[] {
  if (configs.length === 0) return [];
  const timeoutMs = deps.jwks?.timeoutMs ?? 3000;
  const breaker = deps.breakers.create({ name: 'jwks', timeoutMs: timeoutMs + 500, resetMs: deps.resetMs });
  return configs.map((config) => {
    const jwks = createRemoteJwks({
      url: config.jwksUri,
      algorithms: config.algorithms,
      allow: config.allowAddresses,
      breaker,
      timeoutMs,
      ...(config.caFile !== null && { ca: readFileSync(config.caFile) }),
      cooldownMs: deps.jwks?.cooldownMs ?? config.refreshCooldownSeconds * 1000,
      ...(deps.jwks?.maxAgeMs !== undefined && { maxAgeMs: deps.jwks.maxAgeMs }),
      ...(deps.jwks?.now !== undefined && { now: deps.jwks.now }),
      onFetchError: (error) => {
        // The issuer is configuration, not a secret; the URL and the error's text are left out all the same.
        deps.logger.warn(
          {
            event: 'auth.jwks_fetch_failed',
            issuer: config.issuer,
            errorType: error instanceof Error ? error.name : 'Error',
          },
          'external issuer keys could not be fetched',
        );
      },
    });
    return profileFor(config, jwks);
  });
}
