/**
 * One audit event per request that reaches authentication (DESIGN.md
 * invariants; HIPAA 164.312(b)). Search events carry parameter names, never
 * their values, and the ids returned; no event carries a body or PHI.
 */
export interface AuditEvent {
  /** ISO 8601 instant the request arrived. */
  readonly time: string;
  readonly requestId: string;
  /**
   * What the event records: 'api' for an API request, 'cli' for an operator
   * command, 'edge' for a count of requests refused before authentication.
   */
  readonly category: 'api' | 'cli' | 'auth' | 'edge';
  readonly actor: {
    readonly subject: string | null;
    readonly client: string | null;
    readonly role: string | null;
    readonly sourceIp: string | null;
    /** Operating-system user, for CLI events. */
    readonly osUser?: string;
  };
  readonly action: {
    /** read, vread, search, create, update, delete, history, or an operator action like token.issue. */
    readonly interaction: string;
    readonly resourceType: string | null;
    readonly resourceId: string | null;
    /** Search parameter names only. */
    readonly searchParams?: readonly string[];
    /** Ids of the resources a search or history returned. */
    readonly resultIds?: readonly string[];
    /** Non-PHI details of operator actions (e.g. role and ttl of an issued token). */
    readonly details?: Readonly<Record<string, string | number | boolean>>;
  };
  readonly outcome: {
    readonly status: number;
    readonly code: string | null;
  };
}

/** The sink the request path writes to; resolves once the event is durable. */
export interface AuditLog {
  record(event: AuditEvent): Promise<void>;
  /** Writes a signed checkpoint now. */
  checkpoint(): Promise<void>;
  /** Flushes pending events, writes a closing checkpoint and stops the timers. */
  close(): Promise<void>;
}
