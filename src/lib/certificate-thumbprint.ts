/** Client-certificate thumbprints (RFC 8705 §3.1), shared by the edge, the token issuer and the CLI. */
import { hash, X509Certificate } from 'node:crypto';

/** The client certificate a request presented: on its own TLS connection, or forwarded by a trusted proxy (RFC 9440). */
export interface PresentedCertificate {
  /** RFC 8705 §3.1: base64url SHA-256 of the certificate's DER encoding. */
  readonly thumbprint: string;
  /** The DER certificate itself, for whoever must see more than the thumbprint (the authorization server binding the tokens it issues). */
  readonly der: Buffer;
  readonly source: 'tls' | 'proxy';
}

/** RFC 8705 §3.1 `x5t#S256`: the base64url (unpadded) SHA-256 of the DER certificate. */
export function certificateThumbprint(der: Buffer): string {
  return hash('sha256', der, 'base64url');
}

/** The thumbprint of the first certificate in a PEM text; throws TypeError when there is none or it does not parse. */
export function thumbprintOfPem(pem: string | Buffer): string {
  return certificateThumbprint(new X509Certificate(pem).raw);
}

/** A well-formed `x5t#S256`: 32 bytes in unpadded base64url. */
export function isThumbprint(value: string): boolean {
  return /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/.test(value);
}
