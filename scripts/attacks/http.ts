import { Agent, request } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';

/** One request of the simulation. */
export interface ApiRequest {
  readonly method?: string;
  /** Path and query, e.g. `/api/v1/patients?family=x`. */
  readonly path: string;
  /** Sent as `Authorization: Bearer …`; never logged or printed. */
  readonly token?: string;
  /** Sent as X-Forwarded-For: the client address to pose as (honoured only from a trusted proxy). */
  readonly from?: string | null;
  /** A JSON body, sent as application/fhir+json. */
  readonly body?: unknown;
  /** Return a 429 as it is instead of waiting Retry-After and trying again. */
  readonly keepRateLimited?: boolean;
}

/** A complete answer. */
export interface ApiResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

/** The HTTPS client every scenario uses: one keep-alive agent trusting only the given CA. */
export interface ApiClient {
  send(options: ApiRequest): Promise<ApiResponse>;
  /** Sends and parses a JSON answer, throwing (with the status only) unless it is `expected`. */
  json<T>(options: ApiRequest, expected?: number): Promise<T>;
  close(): void;
}

/** Waits for a rate-limited request at most this often before giving up (the limit is not what the scenario tests). */
const maxRateLimitWaits = 5;

/** An ApiClient for `baseUrl` (https), trusting `ca` (the server's certificate or its CA, PEM). */
export function createApiClient(baseUrl: string, ca: Buffer): ApiClient {
  const base = new URL(baseUrl);
  if (base.protocol !== 'https:') throw new Error('--url must be an https:// URL');
  // Keep-alive: the simulation sends hundreds of requests; a TLS handshake each would dominate its run time.
  const agent = new Agent({ keepAlive: true, ca, maxSockets: 16 });

  function once(options: ApiRequest): Promise<ApiResponse> {
    const target = new URL(options.path, base);
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = {
      ...(options.token !== undefined && { authorization: `Bearer ${options.token}` }),
      ...(options.from != null && { 'x-forwarded-for': options.from }),
      ...(body !== undefined && { 'content-type': 'application/fhir+json' }),
    };
    return new Promise((resolve, reject) => {
      const outgoing = request(target, { method: options.method ?? 'GET', headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() });
        });
      });
      // Node's message names the host and port at most, never the headers.
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }

  async function send(options: ApiRequest): Promise<ApiResponse> {
    for (let waits = 0; ; waits += 1) {
      const response = await once(options);
      if (response.status !== 429 || options.keepRateLimited === true || waits >= maxRateLimitWaits) return response;
      await sleep(Math.max(1, Number(response.headers['retry-after'] ?? 1)) * 1000);
    }
  }

  return {
    send,
    async json<T>(options: ApiRequest, expected = 200): Promise<T> {
      const response = await send(options);
      if (response.status !== expected)
        throw new Error(
          `${options.method ?? 'GET'} ${new URL(options.path, base).pathname} answered ${response.status}, expected ${expected}`,
        );
      return JSON.parse(response.body) as T;
    },
    close() {
      agent.destroy();
    },
  };
}
