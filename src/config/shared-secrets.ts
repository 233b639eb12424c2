/**
 * Secrets every process of a deployment must agree on (docs/key-management.md
 * "Secrets processes share"). Each may be set as a file; unset, the process
 * derives it from the master key, which every process sharing a database
 * holds already, so the default is the same across processes and restarts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, text, type Env } from './readers.js';

/** Operator-managed shared secrets; null means "derived from the master key". */
export interface SharedSecretsConfig {
  /** oidc-provider cookie-signing keys, base64url, newest first (each at least 32 bytes). */
  readonly cookieKeys: readonly string[] | null;
  /** The TLS session ticket key (48 bytes, base64url) every listener of the deployment uses. */
  readonly tlsTicketKey: string | null;
}

/** 32 bytes as hex or base64/base64url, or longer; returned as bytes, undefined when not a key. */
function decodeKey(line: string): Buffer | undefined {
  if (/^(?:[0-9a-fA-F]{2})+$/.test(line)) return Buffer.from(line, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(line)) return Buffer.from(line, 'base64url');
  return undefined;
}

function readKeys(env: Env, name: string, cwd: string): Buffer[] | null {
  const raw = text(env, name, '');
  if (raw === '') return null;
  let content: string;
  try {
    content = readFileSync(path.resolve(cwd, raw), 'utf8');
  } catch {
    throw new ConfigError(`${name} cannot be read`);
  }
  const lines = content
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const keys = lines.map(decodeKey);
  if (keys.length === 0 || keys.some((key) => key === undefined))
    throw new ConfigError(`${name} must hold one key per line, hex or base64`);
  return keys as Buffer[];
}

/** Reads CADUCEUS_OIDC_COOKIE_KEYS_FILE and CADUCEUS_TLS_TICKET_KEY_FILE (called by loadConfig only). */
export function loadSharedSecrets(env: Env, cwd: string): SharedSecretsConfig {
  const cookieKeys = readKeys(env, 'CADUCEUS_OIDC_COOKIE_KEYS_FILE', cwd);
  if (cookieKeys !== null && cookieKeys.some((key) => key.length < 32))
    throw new ConfigError('CADUCEUS_OIDC_COOKIE_KEYS_FILE: each key must be at least 32 bytes');
  const ticketKeys = readKeys(env, 'CADUCEUS_TLS_TICKET_KEY_FILE', cwd);
  // Node's TLS session ticket keys are exactly 48 bytes (name, HMAC key, AES key).
  if (ticketKeys !== null && (ticketKeys.length !== 1 || ticketKeys[0]?.length !== 48))
    throw new ConfigError('CADUCEUS_TLS_TICKET_KEY_FILE must hold one key of 48 bytes');
  return Object.freeze({
    cookieKeys: cookieKeys === null ? null : Object.freeze(cookieKeys.map((key) => key.toString('base64url'))),
    tlsTicketKey: ticketKeys?.[0]?.toString('base64url') ?? null,
  });
}
