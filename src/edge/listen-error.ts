/**
 * A listener that could not bind, said so an operator can fix it: the
 * address, the cause in words and the setting to change. Node's own error
 * prints only `listen EADDRINUSE` deep in a stack.
 */
import { CaduceusError } from '../errors/index.js';
import { systemErrorCode } from '../lib/system-error.js';

/** Thrown when a listener cannot bind; the message names the address and cause, nothing else. */
export class ListenError extends CaduceusError {
  override readonly name = 'ListenError';
  readonly code = 'LISTEN_FAILED';
  readonly operatorSafe = true;
}

/** The cause in words, and whether the host (not the port) is what to change. */
const listenCauses: Readonly<Record<string, { readonly words: string; readonly host: boolean }>> = {
  EADDRINUSE: { words: 'the port is in use', host: false },
  EACCES: { words: 'permission denied (ports below 1024 need privileges)', host: false },
  EADDRNOTAVAIL: { words: 'the address is not one of this machine', host: true },
  ENOTFOUND: { words: 'the host name does not resolve', host: true },
  EAI_AGAIN: { words: 'the host name does not resolve', host: true },
};

/** Where a listener was to bind, and the setting that names its port. */
export interface ListenTarget {
  readonly host: string;
  readonly port: number;
  /** CADUCEUS_PORT for the main listener, CADUCEUS_MTLS_PORT for the device listener. */
  readonly portSetting: string;
}

/** The ListenError for a failed `listen`; only the error's code is read. */
export function listenFailure(error: unknown, target: ListenTarget): ListenError {
  const code = systemErrorCode(error);
  const known = code === undefined ? undefined : listenCauses[code];
  const address = target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
  return new ListenError(`cannot listen on ${address}: ${known?.words ?? code ?? 'the listener failed'}`, {
    setting: known?.host === true ? 'CADUCEUS_HOST' : target.portSetting,
    cause: error,
  });
}
