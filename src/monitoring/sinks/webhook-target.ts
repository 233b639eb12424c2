import { CaduceusError } from '../../errors/index.js';
import type { BlockList } from 'node:net';
import type { AddressList } from '../../lib/address-list.js';
import { OutboundTargetError, resolveOutboundTarget, type ResolvedTarget } from '../../lib/outbound-target.js';

// The SSRF guard is shared with every outbound fetch (src/lib/outbound-target.ts); re-exported for the sink.
export { hostOf, internalAddresses } from '../../lib/outbound-target.js';

/** Why a webhook target was refused; the message names no URL or address. */
export class WebhookTargetError extends CaduceusError {
  override readonly name = 'WebhookTargetError';
  readonly code = 'WEBHOOK_TARGET_REFUSED';
  readonly operatorSafe = true;
}

/**
 * Resolves the webhook's host and refuses it when any address is internal
 * and not allow-listed; resolves the address to connect to, so that the
 * connection goes where the check looked (src/lib/outbound-target.ts).
 */
export async function resolveWebhookTarget(
  url: URL,
  internal: BlockList,
  allowed: AddressList,
): Promise<ResolvedTarget> {
  try {
    return await resolveOutboundTarget(url, internal, allowed);
  } catch (error) {
    if (error instanceof OutboundTargetError) throw new WebhookTargetError(`webhook ${error.message}`);
    throw error;
  }
}
