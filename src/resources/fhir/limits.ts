/**
 * Size caps of the strict FHIR validator. FHIR R4 allows strings up to 1 MiB
 * (datatypes.html#string); a patient record never needs that, and every byte
 * accepted is a byte sealed, stored, indexed and audited, so we cap tighter.
 * base64Binary has no cap of its own: the edge body limit
 * (CADUCEUS_BODY_LIMIT_BYTES) bounds it.
 */
export const fhirLimits = Object.freeze({
  /** string, uri, url, canonical: plenty for names, addresses, system URLs. */
  stringChars: 4096,
  /** markdown and the narrative div: room for a generated narrative with tables. */
  markdownChars: 262_144,
  /** FHIR R4 id: `[A-Za-z0-9\-\.]{1,64}`. */
  idChars: 64,
  /** code, oid, uuid, date/time types: tokens, never prose. */
  codeChars: 256,
  /**
   * Default cap on any repeating element (identifier, telecom, contact,
   * extension, coding, …): far above real records, low enough that a single
   * body cannot fan out into an unbounded index or validation cost.
   */
  arrayItems: 100,
  /** Patient.name: maiden, official, usual, nicknames… 20 is generous. */
  nameItems: 20,
  /** HumanName.given/prefix/suffix and Address.line: a handful in practice. */
  namePartItems: 10,
  /** Patient.photo: each may carry megabytes of base64. */
  photoItems: 10,
  /**
   * Extension inside extension (at any datatype depth) nests at most this
   * deep; complex extensions in the wild use two or three levels.
   */
  extensionDepth: 10,
  /** Objects and arrays nested at most this deep anywhere in a body. */
  jsonDepth: 64,
  /** Elements nested at most this deep inside the narrative div. */
  xhtmlDepth: 64,
});
