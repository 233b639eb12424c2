/**
 * The per-writer audit hash chain (DESIGN.md invariants: tamper-evident,
 * verifiable offline; HIPAA 164.312(b) audit controls).
 *
 * Construction, exactly as an offline verifier must implement it:
 *
 *   hash(row) = lowercase hex( SHA-256( UTF-8( prevHash + "\n" + payload ) ) )
 *
 * where prevHash is the hex hash of the previous row of the same writer
 * (the empty string for seq 1, so the first input starts with "\n") and
 * payload is the row's canonical JSON exactly as stored (see canonical.ts).
 * The newline cannot occur in a hex hash, so the split is unambiguous.
 */
import { hash } from 'node:crypto';

/** The prevHash of a writer's first row (seq 1). */
export const GENESIS_PREV_HASH = '';

/** Hex SHA-256 over `prevHash + '\n' + payload` (UTF-8). */
export function chainHash(prevHash: string, payload: string): string {
  // One-shot crypto.hash: no Hash object per row.
  return hash('sha256', `${prevHash}\n${payload}`, 'hex');
}
