import type { EdgeRule } from '../refusal.js';
import { invalid } from '../refusal.js';
import type { EdgeCheck } from './types.js';

const tab = 0x09;
/** Anything outside printable ASCII: most targets have none, and then no loop runs. */
const notPrintableAscii = /[^ -~]/;

/**
 * The first C0 control or DEL in `text` as a rule, or undefined. The
 * classification is a loop rather than a regex (eslint's no-control-regex).
 */
function controlRule(text: string, allowTab: boolean): EdgeRule | undefined {
  if (!notPrintableAscii.test(text)) return undefined;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code >= 0x20 && code !== 0x7f) continue;
    if (code === tab && allowTab) continue;
    if (code === 0) return 'null_byte';
    return code === 0x0a || code === 0x0d ? 'crlf' : 'control_character';
  }
  return undefined;
}

const messages: Partial<Record<EdgeRule, string>> = {
  null_byte: 'The request URL contains a null byte',
  crlf: 'The request URL contains a line break',
  control_character: 'The request URL contains a control character',
};

/** No path holds a control character or a null byte, raw or percent-encoded at any depth. */
export const checkPathCharacters: EdgeCheck = (input) => {
  for (const layer of input.pathLayers) {
    const rule = controlRule(layer, false);
    if (rule !== undefined) return invalid(rule, messages[rule] ?? 'The request URL is malformed');
  }
  return undefined;
};

/**
 * Query values may hold a tab (FHIR strings do), never a null byte, CR, LF
 * or another control character, encoded or double-encoded: they have no
 * place in a search and are the stuff of header and log injection.
 */
export const checkQueryCharacters: EdgeCheck = (input) => {
  if (input.query.length === 0) return undefined;
  for (const layer of input.queryLayers) {
    const rule = controlRule(layer, true);
    if (rule !== undefined) return invalid(rule, messages[rule] ?? 'The request URL is malformed');
  }
  return undefined;
};

/** No API path has a backslash; on some file systems and proxies it is a separator. */
export const checkBackslash: EdgeCheck = (input) =>
  input.pathLayers.some((layer) => layer.includes('\\'))
    ? invalid('backslash', 'The request path contains a backslash')
    : undefined;
