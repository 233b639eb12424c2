/** JWS algorithms a signing key may use (RFC 7518); never `none`, never HMAC. */
export type SigningAlgorithm = 'ES256' | 'PS256' | 'RS256';
