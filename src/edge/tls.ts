import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generate } from 'selfsigned';
import type { Config } from '../config/index.js';

/** The organisation name that marks a generated development certificate. */
const developmentOrganization = 'Caduceus Development (not for production)';

/** Thrown when the TLS material cannot be used; the message names no secret. */
export class TlsSetupError extends Error {
  override readonly name = 'TlsSetupError';
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

async function readIfPresent(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
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
  await mkdir(path.dirname(config.tls.keyPath), { recursive: true, mode: 0o700 });
  await writeFile(config.tls.keyPath, pems.private, { mode: 0o600, flag: 'wx' });
  await writeFile(config.tls.certPath, pems.cert, { mode: 0o644, flag: 'wx' });
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
  if (config.tls.generated && (await readIfPresent(config.tls.certPath)) === null) {
    await generateDevelopmentPair(config);
    generatedPath = config.tls.certPath;
  }
  const cert = await readIfPresent(config.tls.certPath);
  const key = await readIfPresent(config.tls.keyPath);
  if (cert === null || key === null) throw new TlsSetupError('The TLS certificate or key file does not exist');
  if (config.env === 'production' && isDevelopmentCertificate(cert)) {
    throw new TlsSetupError('Production mode refuses the generated development certificate');
  }
  return { key, cert, generatedPath };
}
