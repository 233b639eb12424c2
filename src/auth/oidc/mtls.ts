/**
 * RFC 8705 in the authorization server: mutual-TLS client authentication
 * (`tls_client_auth` against a registered subject, `self_signed_tls_client_auth`
 * against a registered JWKS) and certificate-bound access tokens
 * (`cnf.x5t#S256`). The certificate is the one the edge found for the request
 * (src/edge/mtls/client-certificate.ts): verified against the device CA by the
 * mutual-TLS listener, or forwarded by a trusted proxy (RFC 9440); the mount
 * hands it over with the raw request (mount.ts).
 */
import type { IncomingMessage } from 'node:http';
import { X509Certificate } from 'node:crypto';
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import type { PresentedCertificate } from '../../lib/certificate-thumbprint.js';

const certificateKey = Symbol('caduceus.clientCertificate');

/** Attaches the edge's certificate (or null) to the raw request Koa receives. */
export function setRequestCertificate(req: IncomingMessage, certificate: PresentedCertificate | null): void {
  (req as unknown as Record<symbol, PresentedCertificate | null>)[certificateKey] = certificate;
}

function presentedOf(ctx: KoaContextWithOIDC): PresentedCertificate | null {
  return (ctx.req as unknown as Record<symbol, PresentedCertificate | null | undefined>)[certificateKey] ?? null;
}

function x509Of(ctx: KoaContextWithOIDC): X509Certificate | undefined {
  const presented = presentedOf(ctx);
  return presented === null ? undefined : new X509Certificate(presented.der);
}

/**
 * One distinguished name as RDNs in DER order, each a sorted list of
 * `TYPE=value` (type upper-cased, value unescaped). Hand-written because
 * node:crypto prints names but does not parse them, and the X.509 parsers in
 * node_modules are only transitive dependencies. It reads both RFC 4514
 * strings (`,` between RDNs, last RDN first) and node's `subject` (one RDN a
 * line, first RDN first); `+` joins the attributes of a multi-valued RDN.
 */
function parseName(text: string, rdnSeparators: string): string[][] {
  const rdns: string[][] = [];
  let rdn: string[] = [];
  let bytes: number[] = [];
  const flush = (): void => {
    const ava = Buffer.from(bytes).toString('utf8').trim();
    const at = ava.indexOf('=');
    rdn.push(at < 0 ? ava : `${ava.slice(0, at).trim().toUpperCase()}=${ava.slice(at + 1).trim()}`);
    bytes = [];
  };
  for (let index = 0; index < text.length; index += 1) {
    const char = text.charAt(index);
    if (char === '\\') {
      // RFC 4514 §2.4: `\` then a special character, or two hex digits of one UTF-8 byte.
      const hex = text.slice(index + 1, index + 3);
      if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
        bytes.push(Number.parseInt(hex, 16));
        index += 2;
        continue;
      }
      bytes.push(...Buffer.from(text.charAt(index + 1), 'utf8'));
      index += 1;
      continue;
    }
    if (char === '+') {
      flush();
      continue;
    }
    if (rdnSeparators.includes(char)) {
      flush();
      rdns.push(rdn.sort());
      rdn = [];
      continue;
    }
    bytes.push(...Buffer.from(char, 'utf8'));
  }
  flush();
  rdns.push(rdn.sort());
  return rdns;
}

/** RFC 8705 §2.1.2 `tls_client_auth_subject_dn`: the RFC 4514 string names the certificate's subject exactly. */
export function subjectDnMatches(certificate: X509Certificate, expected: string): boolean {
  const actual = parseName(certificate.subject, '\n');
  const wanted = parseName(expected, ',').reverse();
  return JSON.stringify(actual) === JSON.stringify(wanted);
}

/** The URI entries of the certificate's subjectAltName (node prints a value with `,` or quotes as a JSON string). */
function sanUris(certificate: X509Certificate): string[] {
  const entries = certificate.subjectAltName ?? '';
  const uris: string[] = [];
  for (const match of entries.matchAll(/(?:^|, )URI:("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    const value = match[1] ?? '';
    uris.push(value.startsWith('"') ? (JSON.parse(value) as string) : value);
  }
  return uris;
}

/** RFC 8705 §2.1.2: does the certificate carry the registered subject value? Exact matches only (no wildcards, no subject CN fallback). */
export function certificateSubjectMatches(certificate: X509Certificate, property: string, expected: string): boolean {
  switch (property) {
    case 'tls_client_auth_subject_dn':
      return subjectDnMatches(certificate, expected);
    case 'tls_client_auth_san_dns':
      return (
        certificate.checkHost(expected, { subject: 'never', wildcards: false, partialWildcards: false }) !== undefined
      );
    case 'tls_client_auth_san_email':
      return certificate.checkEmail(expected, { subject: 'never' }) !== undefined;
    case 'tls_client_auth_san_ip':
      return certificate.checkIP(expected) !== undefined;
    case 'tls_client_auth_san_uri':
      return sanUris(certificate).includes(expected);
    default:
      return false;
  }
}

/** oidc-provider's `features.mTLS`: both client-authentication methods and certificate-bound tokens. */
export function mtlsFeature(): NonNullable<NonNullable<Configuration['features']>['mTLS']> {
  return {
    enabled: true,
    certificateBoundAccessTokens: true,
    tlsClientAuth: true,
    selfSignedTlsClientAuth: true,
    // The PEM of the request's certificate, or undefined: on the main listener (no certificate requested) there is none.
    getCertificate: (ctx) => x509Of(ctx)?.toString(),
    // The edge only ever reports a chain verified against CADUCEUS_MTLS_CA ('tls') or one a trusted proxy vouched for ('proxy').
    certificateAuthorized: (ctx) => {
      const source = presentedOf(ctx)?.source;
      return source === 'tls' || source === 'proxy';
    },
    certificateSubjectMatches: (ctx, property, expected) => {
      const certificate = x509Of(ctx);
      return certificate !== undefined && certificateSubjectMatches(certificate, property, expected);
    },
  };
}

/** RFC 8705 §5 `mtls_endpoint_aliases`: the token-side endpoints at the device listener's public URL. */
export function mtlsEndpointAliases(
  baseUrl: string,
  routes: { readonly token: string; readonly introspection: string; readonly revocation: string },
): Record<string, string> {
  return {
    token_endpoint: `${baseUrl}${routes.token}`,
    introspection_endpoint: `${baseUrl}${routes.introspection}`,
    revocation_endpoint: `${baseUrl}${routes.revocation}`,
  };
}
