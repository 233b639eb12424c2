/**
 * Registered OAuth clients: what an operator may create (`caduceus client
 * create`), how it is stored (metadata without secrets, the secret only as a
 * SHA-256 hash) and how the provider reads it back. There is no dynamic
 * registration: every client is an operator's decision, recorded in the audit.
 */
import { CaduceusError } from '../../errors/index.js';
import { randomBytes, X509Certificate } from 'node:crypto';
import { isRole, type Role } from '../../http/principal.js';
import type { OAuthClientStore, StoredClient } from '../../storage/oidc-ports.js';
import { contextScopes, isSmartResourceScope } from './smart-scopes.js';
import { storageKey } from './storage-adapter.js';

/**
 * How a client authenticates at the token endpoint. `none`: a public app (PKCE still required).
 * `tls_client_auth` / `self_signed_tls_client_auth`: RFC 8705 §2, a device's certificate on the mutual-TLS listener.
 */
export const clientAuthMethods = [
  'private_key_jwt',
  'client_secret_basic',
  'none',
  'tls_client_auth',
  'self_signed_tls_client_auth',
] as const;
export type ClientAuthMethod = (typeof clientAuthMethods)[number];

/** SMART Backend Services (and RFC 7523) client-assertion algorithms this server accepts. */
export const clientAssertionAlgorithms = ['RS384', 'ES384'] as const;

/** What an operator asks for. */
export interface ClientRegistration {
  /** Chosen id, or a random one. */
  readonly clientId?: string;
  readonly name: string;
  /** The role a client_credentials token carries (a device, a backend system), and the cap for user tokens it requests. */
  readonly role: Role;
  readonly authMethod: ClientAuthMethod;
  readonly grantTypes: readonly ('authorization_code' | 'client_credentials')[];
  readonly redirectUris: readonly string[];
  /** Space-separated scopes the client may request (SMART scopes, openid, offline_access, …). */
  readonly scope: string;
  /** Inline public JWKS (private_key_jwt). */
  readonly jwks?: { readonly keys: readonly Record<string, unknown>[] };
  /** https URL of the client's JWKS (private_key_jwt, self_signed_tls_client_auth). */
  readonly jwksUri?: string;
  /** RFC 8705 §2.1.2 `tls_client_auth_subject_dn` (RFC 4514 string): the subject the device certificate must have (tls_client_auth). */
  readonly subjectDn?: string;
  /** RFC 8705 §3.4 `tls_client_certificate_bound_access_tokens`: tokens carry `cnf.x5t#S256` of the certificate they were requested with. */
  readonly boundTokens?: boolean;
}

/** A refusal of a registration, with an operator-safe message. */
export class ClientRegistrationError extends CaduceusError {
  override readonly name = 'ClientRegistrationError';
  readonly code = 'CLIENT_REGISTRATION_REFUSED';
  readonly operatorSafe = true;
}

/** The stored client plus, for client_secret_basic, the secret: shown once, never stored. */
export interface CreatedClient {
  readonly client: StoredClient;
  readonly secret: string | null;
}

/** The prefix that marks a stored secret hash inside provider metadata (compareClientSecret hashes before comparing). */
export const secretHashPrefix = 'sha256:';

const clientIdPattern = /^[A-Za-z0-9._~-]{3,64}$/;
/** RFC 6749 §3.3 scope-token. */
const scopeToken = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new ClientRegistrationError(message);
}

/** RFC 7517 §4.7: an x5c entry is the base64 (not base64url) DER of a certificate. */
function parsesAsCertificate(x5c: string): boolean {
  try {
    new X509Certificate(Buffer.from(x5c, 'base64'));
    return true;
  } catch {
    return false;
  }
}

function checkJwks(jwks: ClientRegistration['jwks'], authMethod: ClientAuthMethod): void {
  if (jwks === undefined) return;
  check(Array.isArray(jwks.keys) && jwks.keys.length > 0 && jwks.keys.length <= 10, 'the JWKS must hold 1 to 10 keys');
  for (const key of jwks.keys) {
    // A private member in a "public" JWKS means the client's private key was handed over: refuse it.
    check(
      !['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].some((member) => member in key),
      'the JWKS must hold public keys only',
    );
    if (authMethod === 'self_signed_tls_client_auth') {
      // RFC 8705 §2.2.2: the key is the device's self-signed certificate, matched by its x5t#S256 (x5c[0]); the key type is the device's choice.
      const x5c = (key as { x5c?: unknown }).x5c;
      check(
        Array.isArray(x5c) && typeof x5c[0] === 'string' && parsesAsCertificate(x5c[0]),
        'self_signed_tls_client_auth JWKS keys need the certificate in x5c',
      );
      continue;
    }
    const { kty, crv, alg } = key as { kty?: unknown; crv?: unknown; alg?: unknown };
    check(kty === 'RSA' || (kty === 'EC' && crv === 'P-384'), 'JWKS keys must be RSA or EC P-384 (RS384, ES384)');
    check(
      alg === undefined || (clientAssertionAlgorithms as readonly unknown[]).includes(alg),
      'JWKS key alg must be RS384 or ES384',
    );
  }
}

function checkRedirectUri(uri: string): void {
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    throw new ClientRegistrationError('redirect URIs must be absolute URLs');
  }
  // RFC 9700 §4.1.3: exact string matching, no fragments; https except loopback for native apps (RFC 8252 §7.3).
  check(parsed.hash === '', 'redirect URIs must not carry a fragment');
  const loopback = parsed.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(parsed.hostname);
  check(parsed.protocol === 'https:' || loopback, 'redirect URIs must be https (or http on a loopback address)');
}

/** Validates a registration; throws ClientRegistrationError with the first problem. */
export function checkRegistration(input: ClientRegistration): void {
  check(
    input.clientId === undefined || clientIdPattern.test(input.clientId),
    'the client id must be 3 to 64 of A-Z a-z 0-9 . _ ~ -',
  );
  check(input.name.trim() !== '' && input.name.length <= 200, 'the client name must be 1 to 200 characters');
  check(isRole(input.role), 'the role is not a known role');
  check(input.grantTypes.length > 0, 'at least one grant type is required');
  const scopes = input.scope.split(' ').filter((scope) => scope !== '');
  check(
    scopes.every((scope) => scopeToken.test(scope)),
    'scopes must be RFC 6749 scope tokens',
  );
  check(
    scopes.every((scope) => (contextScopes as readonly string[]).includes(scope) || isSmartResourceScope(scope)),
    'scopes must be SMART resource scopes or one of: ' + contextScopes.join(', '),
  );
  const usesCode = input.grantTypes.includes('authorization_code');
  check(!usesCode || input.redirectUris.length > 0, 'authorization_code needs at least one redirect URI');
  check(usesCode || input.redirectUris.length === 0, 'redirect URIs are only for authorization_code clients');
  input.redirectUris.forEach(checkRedirectUri);
  // SMART Backend Services: a backend client must authenticate; a public client can only use code + PKCE.
  check(
    !input.grantTypes.includes('client_credentials') || input.authMethod !== 'none',
    'client_credentials needs a client authentication method other than none',
  );
  const keyed = input.authMethod === 'private_key_jwt' || input.authMethod === 'self_signed_tls_client_auth';
  check(
    !keyed || (input.jwks === undefined) !== (input.jwksUri === undefined),
    `${input.authMethod} needs exactly one of a JWKS file or a JWKS URI`,
  );
  check(
    keyed || (input.jwks === undefined && input.jwksUri === undefined),
    'a JWKS is only for private_key_jwt and self_signed_tls_client_auth',
  );
  check(input.jwksUri === undefined || input.jwksUri.startsWith('https://'), 'the JWKS URI must be https');
  checkJwks(input.jwks, input.authMethod);
  checkCertificateAuth(input);
}

/** RFC 8705 §2.1.2: tls_client_auth names the certificate subject it accepts; nothing else does. */
function checkCertificateAuth(input: ClientRegistration): void {
  const subject = input.subjectDn;
  check(
    input.authMethod !== 'tls_client_auth' || subject !== undefined,
    'tls_client_auth needs the certificate subject DN',
  );
  check(input.authMethod === 'tls_client_auth' || subject === undefined, 'a subject DN is only for tls_client_auth');
  check(
    subject === undefined || (subject.length <= 1000 && /^\s*[A-Za-z0-9][A-Za-z0-9.-]*\s*=/.test(subject)),
    'the subject DN must be an RFC 4514 string such as "CN=pump-7,O=Example"',
  );
}

/** The oidc-provider metadata stored for a registration (no secret in it). */
function metadataOf(input: ClientRegistration, clientId: string): Record<string, unknown> {
  const usesCode = input.grantTypes.includes('authorization_code');
  const scopes = input.scope.split(' ').filter((scope) => scope !== '');
  const context = scopes.filter((scope) => !isSmartResourceScope(scope)).join(' ');
  const resource = scopes.filter(isSmartResourceScope).join(' ');
  return {
    client_id: clientId,
    client_name: input.name,
    role: input.role,
    // Refresh tokens ride with the code grant only (never client_credentials: RFC 6749 §4.4.3).
    grant_types: usesCode ? [...input.grantTypes, 'refresh_token'] : [...input.grantTypes],
    response_types: usesCode ? ['code'] : [],
    redirect_uris: [...input.redirectUris],
    // oidc-provider's `scope` holds only the scopes it knows itself; the SMART resource scopes are the resource server's (configuration.ts).
    ...(context !== '' && { scope: context }),
    ...(resource !== '' && { resource_scope: resource }),
    token_endpoint_auth_method: input.authMethod,
    ...(input.jwks !== undefined && { jwks: { keys: input.jwks.keys.map((key) => ({ ...key })) } }),
    ...(input.jwksUri !== undefined && { jwks_uri: input.jwksUri }),
    ...(input.subjectDn !== undefined && { tls_client_auth_subject_dn: input.subjectDn }),
    // A client that authenticates with its certificate always gets tokens bound to it (RFC 8705 §3): a stolen device token is then useless without the device's key.
    ...((input.boundTokens === true ||
      input.authMethod === 'tls_client_auth' ||
      input.authMethod === 'self_signed_tls_client_auth') && { tls_client_certificate_bound_access_tokens: true }),
  };
}

/** Creates a client; `duplicate` ids are refused. The secret (client_secret_basic) is returned once. */
export async function createClient(
  store: OAuthClientStore,
  input: ClientRegistration,
  now: Date = new Date(),
): Promise<CreatedClient> {
  checkRegistration(input);
  const clientId = input.clientId ?? `c-${randomBytes(12).toString('base64url')}`;
  // 256 random bits: a plain SHA-256 is enough to store it (no dictionary to search; RFC 6749 §10.10).
  const secret = input.authMethod === 'client_secret_basic' ? randomBytes(32).toString('base64url') : null;
  const client: StoredClient = {
    clientId,
    metadata: JSON.stringify(metadataOf(input, clientId)),
    secretHash: secret === null ? null : storageKey(secret),
    status: 'active',
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
  if ((await store.create(client)) === 'duplicate') throw new ClientRegistrationError('a client with this id exists');
  return { client, secret };
}

/** The metadata oidc-provider gets for an active client; undefined for a disabled one (it then does not exist). */
export function providerMetadataOf(client: StoredClient): Record<string, unknown> | undefined {
  if (client.status !== 'active') return undefined;
  const metadata = JSON.parse(client.metadata) as Record<string, unknown>;
  return client.secretHash === null
    ? metadata
    : { ...metadata, client_secret: `${secretHashPrefix}${client.secretHash}` };
}

/** A client as listed by the CLI: never a secret or its hash. */
export interface ClientSummary {
  readonly clientId: string;
  readonly name: string;
  readonly role: string;
  readonly authMethod: string;
  readonly grantTypes: readonly string[];
  /** RFC 8705 §3.4: its access tokens are bound to the client certificate. */
  readonly certificateBoundTokens: boolean;
  readonly status: StoredClient['status'];
  readonly createdAt: string;
}

/** The listing view of a stored client. */
export function summarize(client: StoredClient): ClientSummary {
  const metadata = JSON.parse(client.metadata) as Record<string, unknown>;
  return {
    clientId: client.clientId,
    name: String(metadata.client_name),
    role: String(metadata.role),
    authMethod: String(metadata.token_endpoint_auth_method),
    grantTypes: Array.isArray(metadata.grant_types) ? metadata.grant_types.map(String) : [],
    certificateBoundTokens: metadata.tls_client_certificate_bound_access_tokens === true,
    status: client.status,
    createdAt: client.createdAt,
  };
}
