/**
 * Canonical JSON for the audit hash chain (RFC 8785 JCS-like): object keys
 * sorted by UTF-16 code units, no whitespace, numbers as ECMAScript prints
 * them (RFC 8785 §3.2.2.3), strings escaped as JSON.stringify does.
 *
 * Written by hand on purpose: no direct dependency provides it, and the
 * transitive ones that do (fast-json-stable-stringify, unmaintained since
 * 2020; safe-stable-stringify, which turns cycles into "[Circular]" and
 * accepts BigInt) silently coerce values that are not JSON. A hash-chain
 * input must instead be rejected, or two verifiers could disagree on the bytes.
 */

/**
 * Deeper nesting is refused. Audit payloads are a few levels deep; the bound
 * also stops a cyclic value, at less cost per call than tracking ancestors.
 */
const maxDepth = 64;

/** Serialises a JSON value canonically; throws TypeError on anything that is not JSON. */
export function canonicalJson(value: unknown): string {
  return serialise(value, 0);
}

function serialise(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      // RFC 8785 §3.2.2.3: NaN and Infinity are not JSON; -0 prints as 0.
      if (!Number.isFinite(value)) throw new TypeError('canonical JSON: non-finite number');
      return JSON.stringify(value);
    case 'object':
      if (value === null) return 'null';
      if (depth >= maxDepth) throw new TypeError('canonical JSON: nested too deeply (or cyclic)');
      return Array.isArray(value) ? serialiseArray(value, depth + 1) : serialiseObject(value, depth + 1);
    case 'bigint':
    case 'undefined':
    case 'function':
    case 'symbol':
      throw new TypeError(`canonical JSON: ${typeof value} is not a JSON value`);
  }
}

function serialiseArray(items: readonly unknown[], depth: number): string {
  let out = '[';
  for (let i = 0; i < items.length; i += 1) {
    if (i > 0) out += ',';
    out += serialise(items[i], depth);
  }
  return `${out}]`;
}

function serialiseObject(value: object, depth: number): string {
  const proto: unknown = Object.getPrototypeOf(value);
  // Dates, Maps, class instances: their JSON form depends on toJSON or is lossy.
  if (proto !== Object.prototype && proto !== null) throw new TypeError('canonical JSON: not a plain object');
  const record = value as Record<string, unknown>;
  // Default sort compares UTF-16 code units, which is RFC 8785 §3.2.3 order.
  const keys = Object.keys(record).sort();
  let out = '{';
  for (const key of keys) {
    const member = record[key];
    // Like JSON.stringify, an optional property set to undefined is absent.
    if (member === undefined) continue;
    if (out.length > 1) out += ',';
    out += `${JSON.stringify(key)}:${serialise(member, depth)}`;
  }
  return `${out}}`;
}
