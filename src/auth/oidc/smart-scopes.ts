/**
 * SMART App Launch 2 scope grammar (hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html):
 * `patient|user|system` / `ResourceType|*` . `cruds` subset in order, or v1 `read|write|*`,
 * optionally followed by `?param=value` granular constraints.
 */
const resourceScope =
  /^(patient|user|system)\/(\*|[A-Z][A-Za-z]{1,63})\.(read|write|\*|(?=[cruds])c?r?u?d?s?)(\?[\x21\x23-\x5B\x5D-\x7E]*)?$/;

/** True for a SMART resource scope (v1 or v2). */
export function isSmartResourceScope(scope: string): boolean {
  return resourceScope.test(scope);
}

/** The non-resource scopes the server recognises (OpenID Connect and SMART launch context). */
export const contextScopes = [
  'openid',
  'fhirUser',
  'profile',
  'offline_access',
  'online_access',
  'launch',
  'launch/patient',
] as const;

/**
 * The resource scopes a client may hold at the API: the SMART resource
 * scopes of its registered `scope`. Intersection with the user's role is
 * the access layer's job (src/access/permissions.ts), not the token's.
 */
export function allowedResourceScopes(registeredScope: string | undefined): string[] {
  return (registeredScope ?? '').split(' ').filter(isSmartResourceScope);
}
