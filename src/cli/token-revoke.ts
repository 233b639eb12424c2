/**
 * `caduceus token revoke --user SUB | --client ID`: incident response. Every
 * grant, refresh token, code and session of the user or client is deleted,
 * and every live access token is refused by the gate from now on (docs/oauth.md
 * "Revocation"). Audited with the operating-system user.
 */
import { parseArgs } from 'node:util';
import { revokeAllForAccount, revokeAllForClient, type BulkRevocation } from '../auth/oidc/index.js';
import { createRevocationStore } from '../auth/revocation.js';
import type { Runtime } from '../runtime.js';
import { auditOperatorAction } from './operator.js';
import { CliError, type CliIo } from './output.js';

export const tokenRevokeUsage = 'caduceus token revoke --user SUB | --client CLIENT_ID [--json]';

/** As long as the server keeps revocations: longer than any access token lives (src/server.ts). */
const revocationRetentionMs = 86_400_000;

/**
 * Ends every grant, refresh token, code and session of a user, and every live
 * access token: the one path of `token revoke --user` and `user disable`.
 */
export function revokeAllOfUser(runtime: Runtime, userId: string): Promise<BulkRevocation> {
  return revokeAllForAccount(
    runtime.db.oidc,
    createRevocationStore(runtime.db.kv, { retentionMs: revocationRetentionMs }),
    userId,
  );
}

function parse(args: string[]): { user: string | undefined; client: string | undefined; json: boolean } {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: { user: { type: 'string' }, client: { type: 'string' }, json: { type: 'boolean', default: false } },
      strict: true,
    }));
  } catch {
    throw new CliError(`unknown or malformed option\nusage: ${tokenRevokeUsage}`, 2);
  }
  if ((values.user === undefined) === (values.client === undefined) || values.user === '' || values.client === '') {
    throw new CliError(`exactly one of --user or --client is required\nusage: ${tokenRevokeUsage}`, 2);
  }
  return { user: values.user, client: values.client, json: values.json };
}

/** `caduceus token revoke`. */
export async function tokenRevokeCommand(runtime: Runtime, args: string[], io: CliIo): Promise<void> {
  let request;
  try {
    request = parse(args);
  } catch (error) {
    await auditOperatorAction(runtime, {
      interaction: 'token.revoke',
      details: { refused: 'usage' },
      status: 400,
      code: 'VALIDATION_ERROR',
    });
    throw error;
  }
  const result =
    request.user !== undefined
      ? await revokeAllOfUser(runtime, request.user)
      : await revokeAllForClient(
          runtime.db.oidc,
          createRevocationStore(runtime.db.kv, { retentionMs: revocationRetentionMs }),
          request.client ?? '',
        );
  const target: Record<string, string> =
    request.user !== undefined ? { user: request.user } : { client: request.client ?? '' };
  await auditOperatorAction(runtime, {
    interaction: 'token.revoke',
    details: { ...target, grants: result.grants, records: result.records },
    status: 200,
  });
  if (request.json) io.out(JSON.stringify({ ...target, grantsRevoked: result.grants, recordsDeleted: result.records }));
  else
    io.out(
      `revoked: ${result.grants} grant(s), ${result.records} stored record(s); every live access token of ${request.user ?? request.client ?? ''} is now refused`,
    );
}
