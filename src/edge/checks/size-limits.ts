import { invalid } from '../refusal.js';
import type { EdgeCheck } from './types.js';

/** CADUCEUS_MAX_URL_BYTES: Node reads the target as latin1, so its length is its byte count. */
export const checkUrlLength: EdgeCheck = (input, policy) =>
  input.url.length > policy.maxUrlBytes ? invalid('url_too_long', 'The request URL is too long') : undefined;

/** CADUCEUS_MAX_HEADERS (Node's own cap, server.maxHeadersCount, is 2000 and silently drops the rest). */
export const checkHeaderCount: EdgeCheck = (input, policy) =>
  input.headerCount > policy.maxHeaderCount
    ? invalid('too_many_headers', 'The request has too many header fields')
    : undefined;

function countParameters(query: string): number {
  let count = 0;
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf('&', start);
    if (end < 0) end = query.length;
    if (end > start) count += 1;
    start = end + 1;
  }
  return count;
}

/** CADUCEUS_MAX_QUERY_PARAMS, counting non-empty `&`-separated pairs. */
export const checkQueryParameterCount: EdgeCheck = (input, policy) =>
  countParameters(input.query) > policy.maxQueryParams
    ? invalid('too_many_query_parameters', 'The request has too many query parameters')
    : undefined;
