import { readFileSync } from 'node:fs';
import path from 'node:path';
import { IssuersFileError, parseIssuersFile, type ExternalIssuerConfig } from './external-issuers-file.js';
import { ConfigError, text, type Env } from './readers.js';

/**
 * Reads and validates CADUCEUS_EXTERNAL_ISSUERS_FILE (docs/external-idp.md);
 * none configured is an empty list. An external issuer may not share the
 * local issuer's `iss`.
 */
export function loadExternalIssuers(env: Env, cwd: string, localIssuer: string): readonly ExternalIssuerConfig[] {
  const name = 'CADUCEUS_EXTERNAL_ISSUERS_FILE';
  const raw = text(env, name, '');
  if (raw === '') return [];
  const file = path.resolve(cwd, raw);
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new ConfigError(`${name} must be a readable JSON file`);
  }
  let issuers: ExternalIssuerConfig[];
  try {
    issuers = parseIssuersFile(document, path.dirname(file));
  } catch (error) {
    if (error instanceof IssuersFileError) throw new ConfigError(`${name}: ${error.message}`);
    throw error;
  }
  if (issuers.some((entry) => entry.issuer === localIssuer))
    throw new ConfigError(`${name}: an external issuer must differ from CADUCEUS_ISSUER`);
  return issuers;
}
