/**
 * TLS session ticket keys (RFC 8446 §4.6.1). Node draws random ones per
 * process, so a client that resumes on another process behind the load
 * balancer pays a full handshake; every listener of the deployment uses the
 * same key instead: the operator's (CADUCEUS_TLS_TICKET_KEY_FILE), or one
 * derived from the master key for the current UTC day, renewed at midnight so
 * that a ticket key never lives longer than a day.
 */

/** What can take ticket keys: a TLS or HTTPS server. */
export interface TicketKeyTarget {
  setTicketKeys(keys: Buffer): void;
}

/** Where the key comes from. */
export interface TicketKeySource {
  /** The configured key (base64url, 48 bytes), or null to derive one. */
  readonly configured: string | null;
  /** Derives `length` bytes for a purpose from the master key (MasterKey.derive). */
  readonly derive: (purpose: string, length: number) => Buffer;
  /** Milliseconds since the epoch; Date.now by default. */
  readonly now?: () => number;
}

const dayMs = 86_400_000;

/** Sets the shared ticket key on every target now and, when derived, each UTC midnight; `close` stops the renewal. */
export function applyTicketKeys(targets: readonly TicketKeyTarget[], source: TicketKeySource): { close(): void } {
  const now = source.now ?? Date.now;
  const apply = (key: Buffer): void => {
    for (const target of targets) target.setTicketKeys(key);
  };
  if (source.configured !== null) {
    apply(Buffer.from(source.configured, 'base64url'));
    return { close: () => undefined };
  }
  let timer: NodeJS.Timeout | undefined;
  const renew = (): void => {
    const day = Math.floor(now() / dayMs);
    apply(source.derive(`tls-ticket-key/${String(day)}`, 48));
    timer = setTimeout(renew, (day + 1) * dayMs - now());
    timer.unref();
  };
  renew();
  return {
    close: () => {
      clearTimeout(timer);
    },
  };
}
