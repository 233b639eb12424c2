import type { ErrorCode } from '../errors/index.js';

/**
 * The rule an edge refusal names in its security event (`edge.refused`,
 * `details.rule`). Rules name what was wrong, never the input itself.
 */
export type EdgeRule =
  | 'client_address'
  | 'ip_denied'
  | 'ip_not_allowed'
  | 'url_too_long'
  | 'too_many_headers'
  | 'too_many_query_parameters'
  | 'percent_encoding'
  | 'null_byte'
  | 'crlf'
  | 'control_character'
  | 'backslash'
  | 'path_traversal'
  | 'path_parameter_too_long'
  | 'malformed_request'
  | 'request_timeout'
  | 'headers_too_large'
  | 'connection_limit';

/** Why a request is refused at the edge, and the safe message its envelope carries. */
export interface Refusal {
  readonly rule: EdgeRule;
  readonly code: Extract<ErrorCode, 'VALIDATION_ERROR' | 'FORBIDDEN' | 'BAD_REQUEST'>;
  readonly message: string;
}

/** A 400 VALIDATION_ERROR refusal with a fixed message. */
export function invalid(rule: EdgeRule, message: string): Refusal {
  return { rule, code: 'VALIDATION_ERROR', message };
}

/** A 403 FORBIDDEN refusal; the message says no more than the catalogue's. */
export function forbidden(rule: EdgeRule): Refusal {
  return { rule, code: 'FORBIDDEN', message: 'Access from this network address is not permitted' };
}
