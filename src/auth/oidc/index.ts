/** The authorization server (docs/oauth.md): the typed facade and what the app and the CLI wire. */
export { accountDirectoryFromUsers, type AccountClaimsSource } from './accounts.js';
export {
  createAuthorizationServer,
  type AuthorizationServerDependencies,
  type MountedAuthorizationServer,
} from './authorization-server.js';
export {
  checkRegistration,
  clientAssertionAlgorithms,
  clientAuthMethods,
  ClientRegistrationError,
  createClient,
  summarize,
  type ClientAuthMethod,
  type ClientRegistration,
  type ClientSummary,
  type CreatedClient,
} from './clients.js';
export type { ProviderSettings } from './configuration.js';
export * from './facade.js';
export { clientJwksFetch, type ClientJwksFetchOptions, type ProviderFetch } from './jwks-fetch.js';
export { registerAuthorizationServer } from './mount.js';
export { smartCapabilities, smartConfiguration } from './smart-configuration.js';
export { revokeAllForAccount, revokeAllForClient, type BulkRevocation } from './revoke-all.js';
export { providerSettingsOf } from './settings.js';
