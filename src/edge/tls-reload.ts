/**
 * Certificate and key reload without a restart (docs/tls.md): when the
 * files change (fs.watch on their folders, debounced) or on SIGHUP, the new
 * pair is read and checked, then applied to every listener with
 * `setSecureContext`. Open connections keep the context they were made
 * with; new handshakes get the new certificate. A pair that fails a check
 * changes nothing: the old one stays, with a log line and a security event.
 */
import { CaduceusError } from '../errors/index.js';
import { createPrivateKey, hash, X509Certificate } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createSecureContext, Server, type SecureContextOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { SecurityEvents } from '../lib/security-events.js';
import { isDevelopmentCertificate } from './tls.js';

/** Why a new pair was refused: a stable code for the log and the security event, never a path or file content. */
export type PairFailure =
  | 'unreadable'
  | 'bad_certificate'
  | 'bad_key'
  | 'key_mismatch'
  | 'expired'
  | 'not_yet_valid'
  | 'rejected'
  | 'development_certificate';

/** Thrown by readCertificatePair with the reason. */
export class CertificatePairError extends CaduceusError {
  override readonly name = 'CertificatePairError';
  readonly code = 'TLS_CERTIFICATE_REFUSED';
  readonly operatorSafe = true;
  constructor(readonly reason: PairFailure) {
    super(`TLS certificate pair refused: ${reason}`);
  }
}

/** A checked certificate and key. */
export interface CertificatePair {
  readonly key: Buffer;
  readonly cert: Buffer;
  /** Of the leaf certificate, as `X509Certificate.fingerprint256`: public, safe to log. */
  readonly fingerprint256: string;
  readonly validTo: Date;
}

/** One listener and the secure-context options of its own that a reload keeps (the device CA of the mutual-TLS listener). */
export interface ReloadTarget {
  readonly server: Server;
  readonly contextOptions?: Omit<SecureContextOptions, 'key' | 'cert'>;
}

/** The listener as the TLS server it is at run time (Fastify types `app.server` as a plain HTTP server). */
export function tlsServerOf(server: object): Server {
  if (!(server instanceof Server)) throw new TypeError('The listener is not a TLS server');
  return server;
}

async function readBoth(certPath: string, keyPath: string): Promise<{ cert: Buffer; key: Buffer }> {
  try {
    return { cert: await readFile(certPath), key: await readFile(keyPath) };
  } catch {
    throw new CertificatePairError('unreadable');
  }
}

function attempt<T>(reason: PairFailure, run: () => T): T {
  try {
    return run();
  } catch {
    throw new CertificatePairError(reason);
  }
}

/** Reads and checks a pair: both parse, the key is the certificate's, the certificate is valid now, and OpenSSL takes them. */
export async function readCertificatePair(
  certPath: string,
  keyPath: string,
  options: { production?: boolean; now?: number } = {},
): Promise<CertificatePair> {
  const now = options.now ?? Date.now();
  const { cert, key } = await readBoth(certPath, keyPath);
  const leaf = attempt('bad_certificate', () => new X509Certificate(cert));
  const privateKey = attempt('bad_key', () => createPrivateKey(key));
  if (!leaf.checkPrivateKey(privateKey)) throw new CertificatePairError('key_mismatch');
  if (now >= leaf.validToDate.getTime()) throw new CertificatePairError('expired');
  if (now < leaf.validFromDate.getTime()) throw new CertificatePairError('not_yet_valid');
  // As at start (src/edge/tls.ts): production never serves the generated development certificate.
  if (options.production === true && isDevelopmentCertificate(cert))
    throw new CertificatePairError('development_certificate');
  // What setSecureContext will do, done first: a chain OpenSSL refuses must not leave some listeners switched and others not.
  attempt('rejected', () => createSecureContext({ key, cert, minVersion: 'TLSv1.3' }));
  return { key, cert, fingerprint256: leaf.fingerprint256, validTo: leaf.validToDate };
}

/** What started a reload, for the log line. */
export type ReloadTrigger = 'file_change' | 'sighup' | 'manual';
export type ReloadOutcome = 'reloaded' | 'unchanged' | 'failed';

/** A running reloader. */
export interface TlsReloader {
  /** Reads the files now and applies them when they changed and pass the checks. */
  reload(trigger?: ReloadTrigger): Promise<ReloadOutcome>;
  /** Stops watching and listening for SIGHUP. */
  close(): void;
}

/** What the reloader needs. */
export interface TlsReloaderOptions {
  readonly certPath: string;
  readonly keyPath: string;
  /** The pair the listeners were started with. */
  readonly initial: { readonly key: Buffer; readonly cert: Buffer };
  readonly targets: readonly ReloadTarget[];
  readonly logger: Logger;
  readonly events: SecurityEvents;
  /** Production mode: a generated development certificate is refused, as at start. */
  readonly production?: boolean;
  /** Quiet time after the last file event before reading: a certificate and key written one after the other are read together. 500 ms by default. */
  readonly debounceMs?: number;
}

const fingerprintOf = (pair: { key: Buffer; cert: Buffer }): string =>
  hash('sha256', Buffer.concat([pair.cert, Buffer.from([0]), pair.key]), 'hex');

/**
 * Watches the folders, not the files: an atomic replace (write a temporary
 * file, rename it over the old one) gives the path a new inode, which a
 * watch on the old file would never report. Other files in the folder (the
 * SQLite database beside the development certificate) are ignored; `..`
 * entries are the symlink swaps of a Kubernetes secret volume.
 */
function watchFolders(paths: readonly string[], onChange: () => void, onError: () => void): FSWatcher[] {
  const names = new Set(paths.map((file) => path.basename(file)));
  const folders = [...new Set(paths.map((file) => path.dirname(file)))];
  return folders.map((folder) => {
    const watcher = watch(folder, { persistent: false }, (_type, filename) => {
      if (filename === null || names.has(filename) || filename.startsWith('..')) onChange();
    });
    watcher.on('error', onError);
    return watcher;
  });
}

/** Starts watching the certificate and key files and listening for SIGHUP. */
export function createTlsReloader(options: TlsReloaderOptions): TlsReloader {
  const { certPath, keyPath, targets, logger, events } = options;
  const debounceMs = options.debounceMs ?? 500;
  let current = fingerprintOf(options.initial);
  // Reloads run one after the other: a SIGHUP during a file-change reload waits for it.
  let queue: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  async function reloadNow(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    let pair: CertificatePair;
    try {
      pair = await readCertificatePair(certPath, keyPath, { production: options.production === true });
    } catch (error) {
      const reason = error instanceof CertificatePairError ? error.reason : 'rejected';
      logger.error(
        { event: 'tls.reload_failed', trigger, reason },
        `TLS certificate reload refused (${reason}); the previous certificate stays in use`,
      );
      events.emit({ kind: 'tls.reload_failed', details: { trigger, reason } });
      return 'failed';
    }
    const fingerprint = fingerprintOf(pair);
    if (fingerprint === current) return 'unchanged';
    for (const target of targets) {
      target.server.setSecureContext({
        ...target.contextOptions,
        key: pair.key,
        cert: pair.cert,
        minVersion: 'TLSv1.3',
      });
    }
    current = fingerprint;
    logger.info(
      {
        event: 'tls.reloaded',
        trigger,
        fingerprint256: pair.fingerprint256,
        validTo: pair.validTo.toISOString(),
        listeners: targets.length,
      },
      'TLS certificate reloaded; new connections use it',
    );
    return 'reloaded';
  }

  const reload = (trigger: ReloadTrigger = 'manual'): Promise<ReloadOutcome> => {
    const run = queue.then(() => reloadNow(trigger));
    queue = run;
    return run;
  };
  const schedule = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      void reload('file_change');
    }, debounceMs);
    timer.unref();
  };
  const watchers = watchFolders([certPath, keyPath], schedule, () => {
    logger.error(
      { event: 'tls.watch_failed' },
      'the TLS certificate folder can no longer be watched; reload with SIGHUP',
    );
  });
  const onHangup = (): void => {
    void reload('sighup');
  };
  process.on('SIGHUP', onHangup);

  return {
    reload,
    close() {
      clearTimeout(timer);
      process.removeListener('SIGHUP', onHangup);
      for (const watcher of watchers) watcher.close();
    },
  };
}
