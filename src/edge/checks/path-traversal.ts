import { invalid } from '../refusal.js';
import type { EdgeCheck } from './types.js';

/** A `..` segment between `/` or `\` separators (a backslash is refused anyway; this names the intent). */
const dotDotSegment = /(?:^|[/\\])\.\.(?:[/\\]|$)/;

/**
 * No path has a `..` segment, raw (`/a/../b`), encoded (`%2e%2e%2f`) or
 * double-encoded (`%252e%252e`): the router does not normalise them, so they
 * only ever come from probes for files behind a proxy or a static server.
 */
export const checkPathTraversal: EdgeCheck = (input) =>
  input.pathLayers.some((layer) => layer.includes('..') && dotDotSegment.test(layer))
    ? invalid('path_traversal', 'The request path contains a dot-dot segment')
    : undefined;
