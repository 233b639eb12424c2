/** The `oauth_clients` row shape both adapters read (migration 9), and its mapping to the port's type. */
import type { StoredClient } from './oidc-ports.js';

export interface ClientRow {
  readonly client_id: string;
  readonly metadata: string;
  readonly secret_hash: string | null;
  readonly status: 'active' | 'disabled';
  readonly created_at: string;
  readonly updated_at: string;
}

export function toClient(row: ClientRow): StoredClient {
  return {
    clientId: row.client_id,
    metadata: row.metadata,
    secretHash: row.secret_hash,
    status: row.status,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export const clientColumns = 'client_id, metadata, secret_hash, status, created_at, updated_at';
