import { userInfo } from 'node:os';
import type { AuditEvent } from '../audit/event.js';
import type { Runtime } from '../runtime.js';
import { randomHexId } from '../lib/random.js';

/** The operating-system user running the command, recorded in its audit event. */
export function operatingSystemUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid:${String(process.getuid?.() ?? 'unknown')}`;
  }
}

/**
 * Records one operator action in this CLI run's own hash chain and closes the
 * chain with a signed checkpoint (each CLI run is its own audit writer).
 */
export async function auditOperatorAction(
  runtime: Runtime,
  action: {
    interaction: string;
    details: Readonly<Record<string, string | number | boolean>>;
    subject?: string;
    status: number;
    code?: string;
  },
): Promise<void> {
  const audit = await runtime.openAuditLog();
  const event: AuditEvent = {
    time: new Date().toISOString(),
    requestId: randomHexId(),
    category: 'cli',
    actor: {
      subject: action.subject ?? null,
      client: 'caduceus-cli',
      role: null,
      sourceIp: null,
      osUser: operatingSystemUser(),
    },
    action: { interaction: action.interaction, resourceType: null, resourceId: null, details: action.details },
    outcome: { status: action.status, code: action.code ?? null },
  };
  try {
    await audit.record(event);
  } finally {
    await audit.close();
  }
}
