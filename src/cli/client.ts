/**
 * `caduceus client create|list|disable`: OAuth clients are registered by an
 * operator only (no dynamic registration). Every run is audited with the
 * operating-system user; a client_secret_basic secret is printed once and
 * stored only as its SHA-256 hash.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { isRole } from '../http/principal.js';
import {
  clientAuthMethods,
  ClientRegistrationError,
  createClient,
  summarize,
  type ClientAuthMethod,
  type ClientRegistration,
} from '../auth/oidc/index.js';
import type { Runtime } from '../runtime.js';
import { auditOperatorAction } from './operator.js';
import { CliError, type CliIo } from './output.js';

export const clientUsage = `caduceus client create --name NAME --role ROLE
      --auth private_key_jwt|client_secret_basic|none|tls_client_auth|self_signed_tls_client_auth
      [--grant authorization_code|client_credentials]... [--redirect-uri URI]... [--scope "S ..."]
      [--jwks-file FILE | --jwks-uri https://...] [--subject-dn "CN=..."] [--bound-tokens] [--id CLIENT_ID] [--json]
  caduceus client list [--json]
  caduceus client disable CLIENT_ID [--json]`;

type Values = Record<string, string | boolean | string[] | undefined>;

function parse(
  args: string[],
  options: ParseArgsOptionsConfig,
  positionals = false,
): { values: Values; positionals: string[] } {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: positionals }) as {
      values: Values;
      positionals: string[];
    };
  } catch {
    throw new CliError(`unknown or malformed option\nusage: ${clientUsage}`, 2);
  }
}

async function readJwks(file: string): Promise<ClientRegistration['jwks']> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new CliError('--jwks-file could not be read', 2);
  }
  try {
    const parsed = JSON.parse(text) as { keys?: unknown };
    if (!Array.isArray(parsed.keys)) throw new Error('no keys');
    return { keys: parsed.keys as Record<string, unknown>[] };
  } catch {
    throw new CliError('--jwks-file must hold a JSON Web Key Set ({"keys": [...]})', 2);
  }
}

async function registrationOf(args: string[]): Promise<{ registration: ClientRegistration; json: boolean }> {
  const { values } = parse(args, {
    name: { type: 'string' },
    role: { type: 'string' },
    auth: { type: 'string' },
    grant: { type: 'string', multiple: true },
    'redirect-uri': { type: 'string', multiple: true },
    scope: { type: 'string', default: '' },
    'jwks-file': { type: 'string' },
    'jwks-uri': { type: 'string' },
    id: { type: 'string' },
    json: { type: 'boolean', default: false },
    // RFC 8705 §2.1.2 (tls_client_auth) and §3.4 (certificate-bound tokens): device clients, docs/tls.md.
    'subject-dn': { type: 'string' },
    'bound-tokens': { type: 'boolean', default: false },
  });
  const { name, role, auth } = values;
  if (typeof name !== 'string' || !isRole(role) || !(clientAuthMethods as readonly unknown[]).includes(auth)) {
    throw new CliError(`--name, --role (a known role) and --auth are required\nusage: ${clientUsage}`, 2);
  }
  const grants = (values.grant as string[] | undefined) ?? ['authorization_code'];
  if (!grants.every((grant) => grant === 'authorization_code' || grant === 'client_credentials'))
    throw new CliError('--grant must be authorization_code or client_credentials', 2);
  const jwksFile = values['jwks-file'];
  const jwksUri = values['jwks-uri'];
  const registration: ClientRegistration = {
    name,
    role,
    authMethod: auth as ClientAuthMethod,
    grantTypes: [...new Set(grants)],
    redirectUris: (values['redirect-uri'] as string[] | undefined) ?? [],
    scope: String(values.scope)
      .trim()
      .split(/\s+/)
      .filter((scope) => scope !== '')
      .join(' '),
    ...(typeof values.id === 'string' && { clientId: values.id }),
    ...(typeof jwksFile === 'string' && { jwks: await readJwks(jwksFile) }),
    ...(typeof jwksUri === 'string' && { jwksUri }),
    ...(typeof values['subject-dn'] === 'string' && { subjectDn: values['subject-dn'] }),
    ...(values['bound-tokens'] === true && { boundTokens: true }),
  };
  return { registration, json: values.json === true };
}

async function create(runtime: Runtime, args: string[], io: CliIo): Promise<void> {
  let request: Awaited<ReturnType<typeof registrationOf>>;
  try {
    request = await registrationOf(args);
  } catch (error) {
    await auditOperatorAction(runtime, {
      interaction: 'client.create',
      details: { refused: 'usage' },
      status: 400,
      code: 'VALIDATION_ERROR',
    });
    throw error;
  }
  const { registration } = request;
  let created;
  try {
    created = await createClient(runtime.db.clients, registration);
  } catch (error) {
    if (!(error instanceof ClientRegistrationError)) throw error;
    await auditOperatorAction(runtime, {
      interaction: 'client.create',
      details: { refused: 'invalid_registration' },
      status: 400,
      code: 'VALIDATION_ERROR',
    });
    throw new CliError(`caduceus: ${error.message}`, 2);
  }
  const summary = summarize(created.client);
  await auditOperatorAction(runtime, {
    interaction: 'client.create',
    details: {
      clientId: summary.clientId,
      role: summary.role,
      authMethod: summary.authMethod,
      grantTypes: summary.grantTypes.join(' '),
    },
    status: 201,
  });
  if (request.json) {
    io.out(JSON.stringify({ ...summary, ...(created.secret !== null && { client_secret: created.secret }) }));
    return;
  }
  io.out(`client ${summary.clientId} created (${summary.authMethod}, role ${summary.role})`);
  // Shown once: only its hash is stored (docs/oauth.md "Clients").
  if (created.secret !== null) io.out(`client secret (shown once, store it now): ${created.secret}`);
}

async function list(runtime: Runtime, args: string[], io: CliIo): Promise<void> {
  const { values } = parse(args, { json: { type: 'boolean', default: false } });
  const clients = (await runtime.db.clients.list()).map(summarize);
  await auditOperatorAction(runtime, { interaction: 'client.list', details: { count: clients.length }, status: 200 });
  if (values.json === true) {
    io.out(JSON.stringify(clients));
    return;
  }
  for (const entry of clients)
    io.out(`${entry.clientId}\t${entry.status}\t${entry.authMethod}\t${entry.role}\t${entry.name}`);
}

async function disable(runtime: Runtime, args: string[], io: CliIo): Promise<void> {
  const { values, positionals } = parse(args, { json: { type: 'boolean', default: false } }, true);
  const clientId = positionals[0];
  if (clientId === undefined || positionals.length !== 1)
    throw new CliError(`one CLIENT_ID is required\nusage: ${clientUsage}`, 2);
  const found = await runtime.db.clients.setStatus(clientId, 'disabled', new Date().toISOString());
  await auditOperatorAction(runtime, {
    interaction: 'client.disable',
    details: { clientId },
    status: found ? 200 : 404,
    ...(!found && { code: 'NOT_FOUND' }),
  });
  if (!found) throw new CliError('caduceus: no such client');
  if (values.json === true) io.out(JSON.stringify({ clientId, status: 'disabled' }));
  else io.out(`client ${clientId} disabled (its live tokens end with \`caduceus token revoke --client ${clientId}\`)`);
}

/** `caduceus client create`. */
export const clientCreateCommand = create;
/** `caduceus client list`. */
export const clientListCommand = list;
/** `caduceus client disable`. */
export const clientDisableCommand = disable;
