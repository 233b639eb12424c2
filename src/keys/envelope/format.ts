/**
 * The sealed-body format, version 1 (docs/key-management.md "Sealed format"):
 *
 *   magic 0xCA 0xDC (2) ‖ format version 0x01 (1) ‖ data-key id (16) ‖ nonce (12) ‖ ciphertext (n) ‖ GCM tag (16)
 *
 * and the additional authenticated data: the whole header, then the record
 * it belongs to (type, id, version), each length-prefixed so no two
 * contexts encode alike.
 */
import type { SealContext } from '../ports.js';

const magic = [0xca, 0xdc] as const;
export const formatVersion = 1;
export const dataKeyIdBytes = 16;
export const nonceBytes = 12;
export const tagBytes = 16;
/** magic + version + data-key id + nonce. */
export const headerBytes = magic.length + 1 + dataKeyIdBytes + nonceBytes;

/** The parts of a sealed body. */
export interface SealedParts {
  readonly header: Buffer;
  /** Hex, as the data_keys table names it. */
  readonly dataKeyId: string;
  readonly nonce: Buffer;
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
}

/** A fresh data-key id: 16 random bytes, hex in the database, raw in the header. */
export function isDataKeyId(id: string): boolean {
  return id.length === dataKeyIdBytes * 2 && /^[0-9a-f]+$/.test(id);
}

/** The header of a body sealed under the data key with this nonce. */
export function encodeHeader(dataKeyId: string, nonce: Buffer): Buffer {
  if (!isDataKeyId(dataKeyId) || nonce.length !== nonceBytes) throw new RangeError('malformed data-key id or nonce');
  return Buffer.concat([Buffer.from(magic), Buffer.of(formatVersion), Buffer.from(dataKeyId, 'hex'), nonce]);
}

/** Splits a sealed body; undefined when it is too short or not this format. */
export function decodeSealed(sealed: Uint8Array): SealedParts | undefined {
  const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (
    bytes.length < headerBytes + tagBytes ||
    bytes[0] !== magic[0] ||
    bytes[1] !== magic[1] ||
    bytes[2] !== formatVersion
  )
    return undefined;
  const idStart = magic.length + 1;
  return {
    header: bytes.subarray(0, headerBytes),
    dataKeyId: bytes.toString('hex', idStart, idStart + dataKeyIdBytes),
    nonce: bytes.subarray(idStart + dataKeyIdBytes, headerBytes),
    ciphertext: bytes.subarray(headerBytes, bytes.length - tagBytes),
    tag: bytes.subarray(bytes.length - tagBytes),
  };
}

const aadLabel = Buffer.from('caduceus/record', 'utf8');

/** AAD = header ‖ "caduceus/record" ‖ len(type) type ‖ len(id) id ‖ version (uint32 BE), lengths uint16 BE. Written into one buffer: it is built on every read. */
export function additionalData(header: Buffer, context: SealContext): Buffer {
  if (!Number.isInteger(context.version) || context.version < 1 || context.version > 0xffffffff)
    throw new RangeError('seal context version out of range');
  const typeBytes = Buffer.byteLength(context.type, 'utf8');
  const idBytes = Buffer.byteLength(context.id, 'utf8');
  if (typeBytes > 0xffff || idBytes > 0xffff) throw new RangeError('seal context field too long');
  const aad = Buffer.allocUnsafe(header.length + aadLabel.length + 2 + typeBytes + 2 + idBytes + 4);
  let at = header.copy(aad, 0);
  at += aadLabel.copy(aad, at);
  at = aad.writeUInt16BE(typeBytes, at);
  at += aad.write(context.type, at, 'utf8');
  at = aad.writeUInt16BE(idBytes, at);
  at += aad.write(context.id, at, 'utf8');
  aad.writeUInt32BE(context.version, at);
  return aad;
}
