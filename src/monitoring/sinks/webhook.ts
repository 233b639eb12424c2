import { CaduceusError } from '../../errors/index.js';
import type { CidrBlock } from '../../config/index.js';
import { createAddressList } from '../../lib/address-list.js';
import { createHmac } from 'node:crypto';
import { request } from 'node:https';
import { isIP } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Breaker } from '../../lib/circuit-breaker.js';
import type { AlertSink } from '../alert-sink.js';
import { pinnedLookup } from '../../lib/outbound-target.js';
import { hostOf, internalAddresses, resolveWebhookTarget, WebhookTargetError } from './webhook-target.js';

export interface WebhookSinkOptions {
  /** An https:// URL; never logged (it may carry a receiver's token). */
  readonly url: string;
  /** The HMAC-SHA-256 key receivers verify `Caduceus-Signature` with. */
  readonly secret: string;
  /** Addresses or CIDRs an internal-looking target may resolve to (e.g. a receiver on the private network). */
  readonly allow?: readonly CidrBlock[];
  /** The breaker named `alert-webhook`. */
  readonly breaker: Breaker;
  /** Per attempt (default 5000 ms). */
  readonly timeoutMs?: number;
  /** Attempts after the first on a network error, 5xx or 429 (default 2). */
  readonly retries?: number;
  /** First backoff between attempts, doubled each time (default 250 ms). */
  readonly backoffMs?: number;
  /** Extra trusted CA (a receiver with a private CA; the tests' self-signed certificate). */
  readonly ca?: string | Buffer;
  readonly clock?: () => number;
}

/** A delivery the receiver refused or that never arrived; names a status or a cause, never the URL. */
export class WebhookDeliveryError extends CaduceusError {
  override readonly name = 'WebhookDeliveryError';
  readonly code = 'WEBHOOK_DELIVERY_FAILED';
  readonly operatorSafe = true;
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA-256 of "t.body">`, the Caduceus-Signature header (docs/monitoring.md has the receiver's recipe). */
export function signatureHeader(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

function postOnce(
  url: URL,
  target: { address: string; family: 4 | 6 },
  body: string,
  headers: Record<string, string>,
  options: { timeoutMs: number; ca?: string | Buffer },
): Promise<number> {
  const host = hostOf(url);
  // Connect to the checked address only; TLS still verifies the certificate against the URL's host name.
  const pinned = pinnedLookup(target);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host,
        port: url.port === '' ? 443 : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: { ...headers, host: url.host, 'content-length': String(Buffer.byteLength(body)) },
        lookup: pinned,
        ...(isIP(host) === 0 && { servername: host }),
        ...(options.ca !== undefined && { ca: options.ca }),
        signal: AbortSignal.timeout(options.timeoutMs),
        agent: false,
      },
      (response) => {
        response.resume();
        response.on('end', () => {
          resolve(response.statusCode ?? 0);
        });
        response.on('error', reject);
      },
    );
    outgoing.on('error', (error: Error & { code?: string }) => {
      reject(new WebhookDeliveryError(`webhook request failed (${error.code ?? error.name})`));
    });
    outgoing.end(body);
  });
}

/**
 * The webhook sink: POSTs each alert as JSON, signed with HMAC-SHA-256 over
 * `t.body`, to an https URL whose resolved address is not internal unless
 * allow-listed; every attempt goes through the `alert-webhook` breaker, with
 * bounded retries. The URL is checked here as well as in config, so no
 * caller can build a plain-http sink.
 */
export function createWebhookSink(options: WebhookSinkOptions): AlertSink {
  const url = new URL(options.url);
  if (url.protocol !== 'https:') throw new WebhookTargetError('the alert webhook must be an https:// URL');
  const internal = internalAddresses();
  const allowed = createAddressList(options.allow ?? []);
  const timeoutMs = options.timeoutMs ?? 5000;
  const retries = options.retries ?? 2;
  const backoffMs = options.backoffMs ?? 250;
  const clock = options.clock ?? Date.now;

  async function attempt(body: string, alertId: string): Promise<number> {
    const target = await resolveWebhookTarget(url, internal, allowed);
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'caduceus-alerts',
      'caduceus-alert-id': alertId,
      'caduceus-signature': signatureHeader(options.secret, body, Math.floor(clock() / 1000)),
    };
    const status = await postOnce(url, target, body, headers, {
      timeoutMs,
      ...(options.ca !== undefined && { ca: options.ca }),
    });
    // A 5xx says the receiver is failing: it counts against the breaker; other answers are the receiver's word.
    if (status >= 500) throw new WebhookDeliveryError(`webhook answered ${status}`);
    return status;
  }

  async function tryOnce(body: string, alertId: string): Promise<'delivered' | 'retry'> {
    let status: number;
    try {
      status = await options.breaker.run(() => attempt(body, alertId));
    } catch (error) {
      // Network errors, timeouts and 5xx deserve another try; a refused target or the open breaker do not.
      if (error instanceof WebhookDeliveryError) return 'retry';
      throw error;
    }
    if (status >= 200 && status < 300) return 'delivered';
    if (status === 429) return 'retry';
    throw new WebhookDeliveryError(`webhook answered ${status}`);
  }

  return {
    name: 'webhook',
    async deliver(alert) {
      const body = JSON.stringify(alert);
      for (let attemptNo = 0; ; attemptNo += 1) {
        if ((await tryOnce(body, alert.id)) === 'delivered') return;
        if (attemptNo >= retries) throw new WebhookDeliveryError('webhook delivery failed after retries');
        await sleep(backoffMs * 2 ** attemptNo);
      }
    },
  };
}
