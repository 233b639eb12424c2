/**
 * RFC 9440 `Client-Cert`: the client certificate a TLS-terminating proxy
 * received, as an RFC 8941 byte sequence (`:base64(DER):`).
 */
import { X509Certificate } from 'node:crypto';

/**
 * RFC 8941 §3.3.5 sf-binary, optionally followed by parameters (§3.1.2),
 * which RFC 9440 defines none of and a recipient ignores. Hand-written: one
 * production of the grammar does not justify a structured-field library.
 */
const byteSequence = /^[ \t]*:([A-Za-z0-9+/]*={0,2}):(?:;[^,]*)?[ \t]*$/;

/** The header's largest accepted length: a certificate chain is a few KiB; anything larger is not one certificate. */
const maxHeaderLength = 16_384;

/**
 * The DER certificate a `Client-Cert` value carries, or null when the value
 * is not one byte sequence holding one parseable X.509 certificate (a list,
 * a repeated header, bad base64, trailing bytes are all refused).
 */
export function parseClientCertHeader(value: string | string[] | undefined): Buffer | null {
  if (typeof value !== 'string' || value.length > maxHeaderLength) return null;
  const match = byteSequence.exec(value);
  const encoded = match?.[1];
  if (encoded === undefined || encoded === '' || encoded.length % 4 !== 0) return null;
  const der = Buffer.from(encoded, 'base64');
  try {
    const certificate = new X509Certificate(der);
    // The thumbprint is of the DER as parsed: bytes after the certificate would make two encodings of one certificate.
    return certificate.raw.equals(der) ? der : null;
  } catch {
    return null;
  }
}

/** A certificate (PEM or DER) as a `Client-Cert` field value: what a proxy sends. */
export function formatClientCertHeader(certificate: string | Buffer): string {
  return `:${new X509Certificate(certificate).raw.toString('base64')}:`;
}
