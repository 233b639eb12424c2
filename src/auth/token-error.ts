import { ApiError } from '../errors/index.js';

/** Why a bearer token was refused: a stable machine code for the audit log, never sent to the client. */
export type TokenFailureReason =
  | 'malformed'
  | 'too_large'
  | 'bad_type'
  | 'bad_algorithm'
  | 'forbidden_header'
  | 'unknown_issuer'
  | 'unknown_key'
  | 'bad_signature'
  | 'bad_audience'
  | 'expired'
  | 'not_yet_valid'
  | 'issued_in_future'
  | 'missing_claim'
  | 'bad_claim'
  | 'unknown_role'
  | 'revoked'
  | 'certificate_required'
  | 'certificate_mismatch'
  | 'keys_unavailable'
  | 'revocation_unavailable';

/** Safe client messages: they say what kind of failure, never echo the token or a claim. */
const messages: Readonly<Record<TokenFailureReason, string>> = {
  malformed: 'The access token is malformed',
  too_large: 'The access token is malformed',
  bad_type: 'The access token is not an RFC 9068 access token',
  bad_algorithm: 'The access token is invalid',
  forbidden_header: 'The access token is invalid',
  unknown_issuer: 'The access token is invalid',
  unknown_key: 'The access token is invalid',
  bad_signature: 'The access token is invalid',
  bad_audience: 'The access token is not intended for this API',
  expired: 'The access token has expired',
  not_yet_valid: 'The access token is not valid yet',
  issued_in_future: 'The access token is invalid',
  missing_claim: 'The access token is missing a required claim',
  bad_claim: 'The access token has an invalid claim',
  unknown_role: 'The access token has an invalid claim',
  revoked: 'The access token has been revoked',
  // RFC 8705 §3: a certificate-bound token without (or with another) client certificate is invalid_token.
  certificate_required: 'The access token is bound to a client certificate',
  certificate_mismatch: 'The access token is bound to a client certificate',
  keys_unavailable: 'The service is temporarily unavailable',
  revocation_unavailable: 'The service is temporarily unavailable',
};

/**
 * A refused bearer token: AUTH_ERROR (401) with `reason` for the audit log.
 * When the refusal is ours (keys or revocation store unreachable) it is
 * SERVICE_UNAVAILABLE instead: failing closed without telling a client with a
 * good token to throw it away.
 */
export class TokenError extends ApiError {
  readonly reason: TokenFailureReason;

  constructor(reason: TokenFailureReason) {
    const unavailable = reason === 'keys_unavailable' || reason === 'revocation_unavailable';
    // RFC 6750 §3.1: invalid_token covers expired, revoked and malformed tokens alike.
    super(
      unavailable ? 'SERVICE_UNAVAILABLE' : 'AUTH_ERROR',
      messages[reason],
      unavailable ? {} : { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
    );
    this.name = 'TokenError';
    this.reason = reason;
  }
}
