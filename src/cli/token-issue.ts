import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { thumbprintOfPem } from '../lib/certificate-thumbprint.js';
import { issueAccessToken } from '../auth/issue-token.js';
import { isRole, type Role } from '../http/principal.js';
import { defaultScopesForRole, parseAmrList } from '../access/scopes/default-scopes.js';
import type { Runtime } from '../runtime.js';
import { randomResourceId } from '../lib/random.js';
import { auditOperatorAction } from './operator.js';
import { CliError, parseDuration, type CliIo } from './output.js';

/** Bootstrap tokens live one hour at most, as the authorization server's do (docs/security-controls.md). */
const maxTtlSeconds = 3600;

/** Roles whose tokens reach PHI broadly or administer the system: refused from the CLI in production. */
const privilegedRoles: readonly Role[] = ['admin', 'clinician', 'nurse', 'auditor'];

export const tokenIssueUsage =
  'caduceus token issue --role ROLE [--sub ID] [--patient ID] [--ttl 15m] [--cnf-cert FILE] [--amr otp,pwd] [--json]';

interface IssueRequest {
  readonly role: Role;
  readonly ttlSeconds: number;
  readonly sub: string | undefined;
  readonly patient: string | undefined;
  /** RFC 8705 `cnf.x5t#S256` of the certificate in `--cnf-cert FILE`. */
  readonly certificateThumbprint: string | undefined;
  /** RFC 8176 `amr` values (`--amr`), for tests and bootstrap of MFA-only operations; refused in production. */
  readonly amr: readonly string[] | undefined;
  readonly json: boolean;
}

/** Parses and checks the arguments; every refusal is a usage error (exit 2). */
async function parseIssueRequest(args: string[]): Promise<IssueRequest> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        role: { type: 'string' },
        sub: { type: 'string' },
        patient: { type: 'string' },
        ttl: { type: 'string', default: '15m' },
        'cnf-cert': { type: 'string' },
        amr: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    });
  } catch {
    throw new CliError(`unknown or malformed option\nusage: ${tokenIssueUsage}`, 2);
  }
  const { values } = parsed;
  const role = values.role;
  if (!isRole(role))
    throw new CliError(
      `--role must be one of admin, clinician, nurse, billing, patient, device, auditor\nusage: ${tokenIssueUsage}`,
      2,
    );
  const ttlSeconds = parseDuration(values.ttl);
  if (ttlSeconds < 1 || ttlSeconds > maxTtlSeconds) throw new CliError('--ttl must be between 1 second and 1 hour', 2);
  if (role === 'patient' && values.patient === undefined)
    throw new CliError('--role patient needs --patient ID (the Patient the token is bound to)', 2);
  const certificateThumbprint =
    values['cnf-cert'] === undefined ? undefined : await thumbprintOfFile(values['cnf-cert']);
  const amr = values.amr === undefined ? undefined : parseAmrList(values.amr);
  if (values.amr !== undefined && amr === undefined)
    throw new CliError('--amr must be a comma-separated list of pwd, otp, hwk, swk, mfa, sc, pin, user', 2);
  return { role, ttlSeconds, sub: values.sub, patient: values.patient, certificateThumbprint, amr, json: values.json };
}

/** The thumbprint of the PEM certificate in `file`; the refusal names neither the path nor the content. */
async function thumbprintOfFile(file: string): Promise<string> {
  try {
    return thumbprintOfPem(await readFile(file));
  } catch {
    throw new CliError('--cnf-cert must name a readable PEM certificate file', 2);
  }
}

/**
 * `caduceus token issue`: signs a short-lived access token with the server's
 * own key, for bootstrap and tests. Every run is audited with the
 * operating-system user, refused ones included (with no argument values:
 * the refusal reason is the fixed message's kind, not what was typed).
 */
export async function tokenIssueCommand(runtime: Runtime, args: string[], io: CliIo): Promise<void> {
  let request: IssueRequest;
  try {
    request = await parseIssueRequest(args);
  } catch (error) {
    await auditOperatorAction(runtime, {
      interaction: 'token.issue',
      details: { refused: 'usage' },
      status: 400,
      code: 'VALIDATION_ERROR',
    });
    throw error;
  }
  const { role, ttlSeconds, patient, certificateThumbprint, amr } = request;
  const subject = request.sub ?? `cli-${role}-${randomResourceId().slice(0, 8)}`;
  // A thumbprint is public (it is in every request's certificate): audited, so a bound token can be traced to its device.
  const details = {
    role,
    ttlSeconds,
    subject,
    ...(patient !== undefined && { patient }),
    ...(certificateThumbprint !== undefined && { certificateThumbprint }),
    ...(amr !== undefined && { amr: amr.join(',') }),
  };
  // The CLI authenticates no one: it may not claim a second factor where it counts (docs/access-control.md).
  if (runtime.config.env === 'production' && amr !== undefined) {
    await auditOperatorAction(runtime, { interaction: 'token.issue', details, status: 403, code: 'FORBIDDEN' });
    throw new CliError('production mode refuses --amr: tokens with MFA come from the authorization server');
  }
  if (runtime.config.env === 'production' && privilegedRoles.includes(role)) {
    await auditOperatorAction(runtime, { interaction: 'token.issue', details, status: 403, code: 'FORBIDDEN' });
    throw new CliError(
      `production mode refuses to issue ${role} tokens from the CLI; use the authorization server with MFA`,
    );
  }
  const issued = await issueAccessToken(runtime.keys, {
    issuer: runtime.config.auth.issuer,
    audience: runtime.config.auth.audience,
    subject,
    // A device is a client acting for itself (RFC 9068 §2.2: sub = client_id), which is what lets its system/ scopes count.
    clientId: role === 'device' ? subject : 'caduceus-cli',
    role,
    scopes: defaultScopesForRole(role),
    ttlSeconds,
    ...(patient !== undefined && { patient }),
    ...(certificateThumbprint !== undefined && { certificateThumbprint }),
    ...(amr !== undefined && { amr }),
  });
  await auditOperatorAction(runtime, {
    interaction: 'token.issue',
    details: { ...details, jti: issued.jti },
    status: 201,
  });
  if (request.json) {
    io.out(
      JSON.stringify({
        access_token: issued.token,
        token_type: 'Bearer',
        expires_in: ttlSeconds,
        expires_at: new Date(issued.expiresAt * 1000).toISOString(),
        jti: issued.jti,
        sub: subject,
        role,
        ...(certificateThumbprint !== undefined && { cnf: { 'x5t#S256': certificateThumbprint } }),
      }),
    );
  } else {
    io.out(issued.token);
  }
}
