import { tryDecode } from '../edge-input.js';
import { invalid } from '../refusal.js';
import type { EdgeCheck } from './types.js';

/**
 * RFC 3986 §2.1: `%` starts exactly two hex digits, and the bytes must be
 * UTF-8 (RFC 3986 §2.5). `%zz`, a trailing `%` or `%ff` are refused; the
 * path and the query are checked apart because the router decodes the path.
 */
export const checkPercentEncoding: EdgeCheck = (input) => {
  if (!input.url.includes('%')) return undefined;
  if (tryDecode(input.path) === null || tryDecode(input.query) === null) {
    return invalid('percent_encoding', 'The request URL has malformed percent-encoding');
  }
  return undefined;
};
