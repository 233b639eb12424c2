/**
 * SMART App Launch 2 discovery (hl7.org/fhir/smart-app-launch/conformance.html),
 * served at `[FHIR base]/.well-known/smart-configuration`. It states only
 * what the provider configuration (configuration.ts) really does.
 */
import { clientAssertionAlgorithms, clientAuthMethods } from './clients.js';
import { providerPaths } from './configuration.js';
import { mtlsEndpointAliases } from './mtls.js';
import { contextScopes } from './smart-scopes.js';

/** The SMART capabilities this server supports. */
export const smartCapabilities = [
  'launch-standalone',
  'client-public',
  'client-confidential-asymmetric',
  'client-confidential-symmetric',
  'context-standalone-patient',
  'sso-openid-connect',
  'permission-offline',
  'permission-online',
  'permission-patient',
  'permission-user',
  'permission-v1',
  'permission-v2',
] as const;

/**
 * The SMART configuration document for an issuer. SMART 2 defines no
 * capability for mutual TLS, so RFC 8705's own metadata (RFC 8414 style, as
 * the provider's discovery has it) is added when the device listener runs.
 */
export function smartConfiguration(issuer: string, mtlsBaseUrl: string | null = null): Record<string, unknown> {
  return {
    issuer,
    jwks_uri: `${issuer}/jwks`,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    introspection_endpoint: `${issuer}/token/introspection`,
    revocation_endpoint: `${issuer}/token/revocation`,
    grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
    token_endpoint_auth_methods_supported: [...clientAuthMethods],
    token_endpoint_auth_signing_alg_values_supported: [...clientAssertionAlgorithms],
    scopes_supported: [...contextScopes, 'patient/*.rs', 'user/*.cruds', 'system/*.cruds'],
    response_types_supported: ['code'],
    // RFC 7636 / SMART 2: S256 only; `plain` is refused.
    code_challenge_methods_supported: ['S256'],
    capabilities: [...smartCapabilities],
    ...(mtlsBaseUrl !== null && {
      // RFC 8705 §3.3 and §5: bound tokens, obtained at the device listener's aliases of the token-side endpoints.
      tls_client_certificate_bound_access_tokens: true,
      mtls_endpoint_aliases: mtlsEndpointAliases(mtlsBaseUrl, providerPaths),
    }),
  };
}
