/**
 * FHIR R4 search escaping (search.html#escaping): in a parameter value, `\,`
 * `\$` `\|` and `\\` stand for the literal characters; an unescaped `,`
 * separates OR alternatives and an unescaped `|` separates a token's system
 * from its value.
 */

const escapable: ReadonlySet<string> = new Set([',', '$', '|', '\\']);

/** Splits on each unescaped separator, keeping escapes in the pieces; undefined for a malformed escape. */
export function splitUnescaped(value: string, separator: ',' | '|'): string[] | undefined {
  const pieces: string[] = [];
  let start = 0;
  for (let i = 0; i < value.length; i += 1) {
    const c = value.charAt(i);
    if (c === '\\') {
      if (!escapable.has(value.charAt(i + 1))) return undefined;
      i += 1;
    } else if (c === separator) {
      pieces.push(value.slice(start, i));
      start = i + 1;
    }
  }
  pieces.push(value.slice(start));
  return pieces;
}

/** Removes the escapes of a value; undefined for a malformed escape. */
export function unescapeSearchValue(value: string): string | undefined {
  let out = '';
  for (let i = 0; i < value.length; i += 1) {
    const c = value.charAt(i);
    if (c === '\\') {
      const next = value.charAt(i + 1);
      if (!escapable.has(next)) return undefined;
      out += next;
      i += 1;
    } else {
      out += c;
    }
  }
  return out;
}

/** Escapes a literal value for use in a parameter value. */
export function escapeSearchValue(value: string): string {
  return value.replace(/[\\,$|]/g, (c) => `\\${c}`);
}

/**
 * A token value in FHIR search syntax: `system|value`, `|value` (no system),
 * `system|` (any value); undefined when both are absent.
 */
export function formatTokenValue(system: string | undefined, value: string | undefined): string | undefined {
  if (system === undefined && value === undefined) return undefined;
  return `${system === undefined ? '' : escapeSearchValue(system)}|${value === undefined ? '' : escapeSearchValue(value)}`;
}
