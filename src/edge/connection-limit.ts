import type { Server, Socket } from 'node:net';
import { canonicalAddress, type AddressList } from '../lib/address-list.js';

/** How connections per peer are limited. */
export interface ConnectionLimitOptions {
  /** Most open connections from one peer address (> 0). */
  readonly max: number;
  /** Peers not counted: trusted proxies carry many clients on their connections. */
  readonly exempt: AddressList;
  /**
   * Called on the first refused connection of a peer, and again only after
   * one of its connections has closed: a flood of refusals is one event, not
   * one log line per SYN.
   */
  readonly onRefused: (address: string) => void;
}

/**
 * Counts open sockets per peer address on the server's `connection` event
 * (before TLS: an over-limit peer costs no handshake) and destroys those
 * over the limit. A refused connection gets no HTTP answer: it never sent a
 * request, and an answer would cost what the limit saves.
 */
export function limitConnectionsPerIp(server: Server, options: ConnectionLimitOptions): void {
  const open = new Map<string, number>();
  const reported = new Set<string>();
  server.on('connection', (socket: Socket) => {
    const peer = socket.remoteAddress;
    if (peer === undefined) return; // already gone
    const address = canonicalAddress(peer);
    if (options.exempt.has(address)) return;
    const count = open.get(address) ?? 0;
    if (count >= options.max) {
      socket.destroy();
      if (!reported.has(address)) {
        reported.add(address);
        options.onRefused(address);
      }
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
      reported.delete(address);
    });
  });
}
