import { CaduceusError } from '../errors/index.js';
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generate } from 'selfsigned';
import type { Config } from '../config/index.js';
import { fileErrorCause, systemErrorCode } from '../lib/system-error.js';

/** The organisation name that marks a generated development certificate. */
const developmentOrganization = 'Caduceus Development (not for production)';

/** Thrown when the TLS material cannot be used; the message names no secret. */
export class TlsSetupError extends CaduceusError {
  override readonly name = 'TlsSetupError';
  readonly code = 'TLS_SETUP_FAILED';
  readonly operatorSafe = true;
}

export interface TlsMaterial {
  readonly key: Buffer;
  readonly cert: Buffer;
  /** Set when this call generated the development pair. */
  readonly generatedPath: string | null;
}

/** True for the generated development certificate, which production refuses (at start and at reload). */
export function isDevelopmentCertificate(cert: Buffer): boolean {
  return new X509Certificate(cert).subject.includes(`O=${developmentOrganization}`);
}

/** The setting an operator changes for `file`: the one that names it, or the data folder the generated pair lives in. */
function settingOf(config: Config, file: string): string {
  if (config.tls.generated) return 'CADUCEUS_DATA_DIR';
  return file === config.tls.keyPath ? 'CADUCEUS_TLS_KEY' : 'CADUCEUS_TLS_CERT';
}

/** A file-system failure on the TLS files, with the path (an operator's setting, not a secret) and the cause in words. */
function fileFailure(config: Config, what: string, file: string, error: unknown): TlsSetupError {
  const cause = fileErrorCause(error) ?? systemErrorCode(error) ?? 'failed';
  return new TlsSetupError(`cannot ${what} ${file}: ${cause}`, { setting: settingOf(config, file), cause: error });
}

function missingFile(config: Config, what: 'certificate' | 'key', file: string): TlsSetupError {
  return new TlsSetupError(`The TLS ${what} file ${file} does not exist`, { setting: settingOf(config, file) });
}

async function readIfPresent(config: Config, file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fileFailure(config, 'read the TLS file', file, error);
  }
}

/** A self-signed P-256 certificate for localhost, valid 90 days, key written 0600. */
async function generateDevelopmentPair(config: Config): Promise<void> {
  const now = new Date();
  const pems = await generate(
    [
      { name: 'commonName', value: 'localhost' },
      { name: 'organizationName', value: developmentOrganization },
    ],
    {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate: now,
      notAfterDate: new Date(now.getTime() + 90 * 86_400_000),
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 7, ip: '127.0.0.1' },
            { type: 7, ip: '::1' },
          ],
        },
      ],
    },
  );
  try {
    await mkdir(path.dirname(config.tls.keyPath), { recursive: true, mode: 0o700 });
    await writeFile(config.tls.keyPath, pems.private, { mode: 0o600, flag: 'wx' });
    await writeFile(config.tls.certPath, pems.cert, { mode: 0o644, flag: 'wx' });
  } catch (error) {
    throw fileFailure(config, 'write the development certificate to', path.dirname(config.tls.keyPath), error);
  }
}

/**
 * Loads the listener's certificate and key. In development a missing pair is
 * generated once; production refuses a development certificate outright.
 */
export async function loadTlsMaterial(config: Config): Promise<TlsMaterial> {
  let generatedPath: string | null = null;
  if (config.tls.generated && config.env === 'production') {
    throw new TlsSetupError(
      'Production mode needs CADUCEUS_TLS_CERT and CADUCEUS_TLS_KEY; the development certificate is refused',
    );
  }
  if (config.tls.generated && (await readIfPresent(config, config.tls.certPath)) === null) {
    await generateDevelopmentPair(config);
    generatedPath = config.tls.certPath;
  }
  const cert = await readIfPresent(config, config.tls.certPath);
  const key = await readIfPresent(config, config.tls.keyPath);
  if (cert === null) throw missingFile(config, 'certificate', config.tls.certPath);
  if (key === null) throw missingFile(config, 'key', config.tls.keyPath);
  if (config.env === 'production' && isDevelopmentCertificate(cert)) {
    throw new TlsSetupError('Production mode refuses the generated development certificate');
  }
  return { key, cert, generatedPath };
}
