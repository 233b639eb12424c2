import type { Config } from '../../config/index.js';
import type { ProviderSettings } from './configuration.js';

/** The provider's settings from the validated configuration (docs/oauth.md; README configuration table). */
export function providerSettingsOf(config: Config): ProviderSettings {
  return {
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    clockSkewSeconds: config.auth.clockSkewSeconds,
    accessTokenTtlSeconds: config.oauth.accessTokenTtlSeconds,
    refreshTokenTtlSeconds: config.oauth.refreshTokenTtlSeconds,
    // A provider session keeps the login pages' idle and absolute session timeouts.
    sessionTtlSeconds: config.login.sessionAbsoluteSeconds,
    sessionIdleSeconds: config.login.sessionIdleSeconds,
    mtlsBaseUrl: config.mtls?.publicUrl ?? null,
  };
}
