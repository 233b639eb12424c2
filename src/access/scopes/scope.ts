/**
 * SMART App Launch scopes for clinical data (SMART v2 §"Scopes for requesting
 * clinical data"; v1 `.read`/`.write`/`.*` accepted), parsed strictly: a
 * string that is not exactly one of these shapes names no resource access.
 */

/** Whose data a scope reaches: the token's patient, what the user may see, or a backend client's own rights. */
export type ScopeContext = 'patient' | 'user' | 'system';

/** SMART v2 permission letters: create, read, update, delete, search. */
export type ScopePermission = 'c' | 'r' | 'u' | 'd' | 's';

/** One parsed resource scope. */
export interface ResourceScope {
  readonly context: ScopeContext;
  /** A resource type, or `*` for every type. */
  readonly resourceType: string;
  readonly permissions: ReadonlySet<ScopePermission>;
}

/** SMART v2: the letters, each at most once and in this order (`cruds`, `rs`, `c`, …). */
const v2Permissions = /^c?r?u?d?s?$/;

/** SMART v1 names and the v2 letters they stand for (SMART v2 §"Scopes for requesting clinical data", v1 compatibility). */
const v1Permissions: Readonly<Record<string, string>> = { read: 'rs', write: 'cud', '*': 'cruds' };

/** A FHIR resource type name (FHIR R4 resource names: an upper-case letter, then letters), or `*`. */
const resourceTypeName = /^(?:\*|[A-Z][A-Za-z]{0,63})$/;

const contexts: readonly ScopeContext[] = ['patient', 'user', 'system'];

/**
 * Parses one scope token, or returns null when it is not a resource scope
 * we accept: `openid`, `launch/patient` and other non-resource scopes, and
 * malformed ones (`patient/*.xyz`, `user/Patient.rsc`, `Patient.read`,
 * `patient/Observation.rs?category=…`: granular query scopes are not
 * supported yet, so they grant nothing rather than more than they say).
 */
export function parseResourceScope(token: string): ResourceScope | null {
  const slash = token.indexOf('/');
  const dot = token.lastIndexOf('.');
  if (slash <= 0 || dot <= slash + 1) return null;
  const context = token.slice(0, slash);
  const resourceType = token.slice(slash + 1, dot);
  const suffix = token.slice(dot + 1);
  if (!(contexts as readonly string[]).includes(context) || !resourceTypeName.test(resourceType)) return null;
  const letters = v1Permissions[suffix] ?? (suffix !== '' && v2Permissions.test(suffix) ? suffix : undefined);
  if (letters === undefined) return null;
  return Object.freeze({
    context: context as ScopeContext,
    resourceType,
    // ASCII letters only (checked above): a plain character split is exact.
    permissions: new Set(letters.split('') as ScopePermission[]),
  });
}

/** Every resource scope among a token's scopes; others are ignored (documented in docs/access-control.md). */
export function parseResourceScopes(tokens: readonly string[]): readonly ResourceScope[] {
  return Object.freeze(tokens.map(parseResourceScope).filter((scope): scope is ResourceScope => scope !== null));
}
