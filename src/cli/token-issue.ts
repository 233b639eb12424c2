import { parseArgs } from 'node:util';
import { issueAccessToken } from '../auth/issue-token.js';
import { isRole, type Role } from '../auth/principal.js';
import type { Runtime } from '../runtime.js';
import { randomResourceId } from '../security/random.js';
import { auditOperatorAction } from './operator.js';
import { CliError, parseDuration, type CliIo } from './output.js';

/** Bootstrap tokens live one hour at most (issue 2: "capped at 1 hour"). */
const maxTtlSeconds = 3600;

/** Roles whose tokens reach PHI broadly or administer the system: refused from the CLI in production. */
const privilegedRoles: readonly Role[] = ['admin', 'clinician', 'nurse', 'auditor'];

/** A scope string matching the role, until SMART scopes are intersected (identity issue). */
function defaultScope(role: Role): string {
  switch (role) {
    case 'patient': return 'openid fhirUser launch/patient patient/*.rs';
    case 'device': return 'system/Observation.c';
    case 'billing': return 'user/Patient.rs user/Coverage.rs';
    case 'auditor': return 'user/AuditEvent.rs';
    case 'admin':
    case 'clinician':
    case 'nurse':
      return 'openid fhirUser user/*.cruds';
  }
}

export const tokenIssueUsage = 'caduceus token issue --role ROLE [--sub ID] [--patient ID] [--ttl 15m] [--json]';

interface IssueRequest {
  readonly role: Role;
  readonly ttlSeconds: number;
  readonly sub: string | undefined;
  readonly patient: string | undefined;
  readonly json: boolean;
}

/** Parses and checks the arguments; every refusal is a usage error (exit 2). */
function parseIssueRequest(args: string[]): IssueRequest {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { role: { type: 'string' }, sub: { type: 'string' }, patient: { type: 'string' }, ttl: { type: 'string', default: '15m' }, json: { type: 'boolean', default: false } },
      strict: true,
    });
  } catch {
    throw new CliError(`unknown or malformed option\nusage: ${tokenIssueUsage}`, 2);
  }
  const { values } = parsed;
  const role = values.role;
  if (!isRole(role)) throw new CliError(`--role must be one of admin, clinician, nurse, billing, patient, device, auditor\nusage: ${tokenIssueUsage}`, 2);
  const ttlSeconds = parseDuration(values.ttl);
  if (ttlSeconds < 1 || ttlSeconds > maxTtlSeconds) throw new CliError('--ttl must be between 1 second and 1 hour', 2);
  if (role === 'patient' && values.patient === undefined) throw new CliError('--role patient needs --patient ID (the Patient the token is bound to)', 2);
  return { role, ttlSeconds, sub: values.sub, patient: values.patient, json: values.json };
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
    request = parseIssueRequest(args);
  } catch (error) {
    await auditOperatorAction(runtime, { interaction: 'token.issue', details: { refused: 'usage' }, status: 400, code: 'VALIDATION_ERROR' });
    throw error;
  }
  const { role, ttlSeconds, patient } = request;
  const subject = request.sub ?? `cli-${role}-${randomResourceId().slice(0, 8)}`;
  const details = { role, ttlSeconds, subject, ...(patient !== undefined && { patient }) };
  if (runtime.config.env === 'production' && privilegedRoles.includes(role)) {
    await auditOperatorAction(runtime, { interaction: 'token.issue', details, status: 403, code: 'FORBIDDEN' });
    throw new CliError(`production mode refuses to issue ${role} tokens from the CLI; use the authorization server with MFA`);
  }
  const issued = await issueAccessToken(runtime.keys, {
    issuer: runtime.config.auth.issuer,
    audience: runtime.config.auth.audience,
    subject,
    clientId: 'caduceus-cli',
    role,
    scopes: defaultScope(role).split(' '),
    ttlSeconds,
    ...(patient !== undefined && { patient }),
  });
  await auditOperatorAction(runtime, { interaction: 'token.issue', details: { ...details, jti: issued.jti }, status: 201 });
  if (request.json) {
    io.out(JSON.stringify({ access_token: issued.token, token_type: 'Bearer', expires_in: ttlSeconds, expires_at: new Date(issued.expiresAt * 1000).toISOString(), jti: issued.jti, sub: subject, role }));
  } else {
    io.out(issued.token);
  }
}
