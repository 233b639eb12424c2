import { randomInt } from 'node:crypto';
import type { ApiClient } from './http.js';
import { beyondThreshold, type ServerSettings } from './types.js';

/** A random address in 198.18.0.0/15 (RFC 2544 benchmarking): never a real client's. */
export function randomAddress(): string {
  return `198.${String(18 + randomInt(2))}.${String(randomInt(256))}.${String(1 + randomInt(254))}`;
}

interface AuditPage {
  readonly events: readonly { readonly event: { readonly actor: { readonly sourceIp: string | null } } }[];
}

/**
 * Whether the server takes our X-Forwarded-For, asked of the server itself:
 * a request posing as `probe`, then its audit event, whose source address
 * says which one the server believed (docs/edge.md: trusted proxies).
 */
export async function proxyTrusted(api: ApiClient, auditorToken: string, probe: string): Promise<boolean> {
  const first = await api.send({ path: '/api/v1/alerts?_count=1', token: auditorToken, from: probe });
  const requestId = first.headers['x-request-id'];
  if (first.status !== 200 || typeof requestId !== 'string')
    throw new Error(`GET /api/v1/alerts answered ${first.status} to the auditor token`);
  const page = await api.json<AuditPage>({
    path: `/api/v1/audit-events?requestId=${requestId}`,
    token: auditorToken,
    from: probe,
  });
  return page.events[0]?.event.actor.sourceIp === probe;
}

/** How many synthetic patients the scenarios need: distinct reads beyond the snooping threshold, and a few to search. */
export function patientsNeeded(settings: ServerSettings): number {
  const snooping = beyondThreshold(settings, 'patient_snooping');
  return Math.max(3, 'count' in snooping ? snooping.count : 0);
}

/** Creates `count` synthetic patients (family `family`, no real data), four at a time; resolves to their ids. */
export async function createPatients(
  api: ApiClient,
  token: string,
  from: string | null,
  family: string,
  count: number,
): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next += 1;
      const body = {
        resourceType: 'Patient',
        name: [{ family, given: [`Patient${String(next)}`] }],
        gender: 'unknown',
      };
      ids.push(
        (await api.json<{ id: string }>({ method: 'POST', path: '/api/v1/patients', token, from, body }, 201)).id,
      );
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return ids;
}

/**
 * Assigns each subject to every synthetic patient through the care-team API
 * (docs/access-control.md "Care teams"): clinicians and nurses reach only
 * assigned patients, and the attacks read these as insiders would.
 */
export async function assignCareTeam(
  api: ApiClient,
  adminToken: string,
  from: string | null,
  subjects: readonly string[],
  patients: readonly string[],
): Promise<void> {
  for (const subject of subjects) {
    for (const patient of patients) {
      await api.json(
        { method: 'POST', path: '/api/v1/care-team-assignments', token: adminToken, from, body: { subject, patient } },
        201,
      );
    }
  }
}
