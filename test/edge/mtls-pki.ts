/**
 * Test PKI for the TLS tests: a device CA, CA-signed client certificates
 * and server certificates for localhost (selfsigned, P-256), written to
 * PEM files, and HTTPS requests that present a client certificate.
 */
import { X509Certificate } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { request, type Agent } from 'node:https';
import path from 'node:path';
import { TLSSocket } from 'node:tls';
import { generate } from 'selfsigned';

/** A PEM certificate and its private key. */
export interface Pem {
  readonly cert: string;
  readonly key: string;
}

const day = 86_400_000;

/** A CA that may sign client certificates. */
export async function makeCa(name: string): Promise<Pem> {
  const now = Date.now();
  const pems = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - day),
    notAfterDate: new Date(now + day),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** A client certificate for `name` signed by `ca`. */
export async function makeClientCert(ca: Pem, name: string): Promise<Pem> {
  const now = Date.now();
  const pems = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - day),
    notAfterDate: new Date(now + day),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true },
      { name: 'extKeyUsage', clientAuth: true },
    ],
    ca: { key: ca.key, cert: ca.cert },
  });
  return { cert: pems.cert, key: pems.private };
}

/** A self-signed server certificate for localhost / 127.0.0.1, valid from `from` to `to` (now − 1 day to now + 1 day by default). */
export async function makeServerPair(label: string, validity: { from?: number; to?: number } = {}): Promise<Pem> {
  const now = Date.now();
  const pems = await generate(
    [
      { name: 'commonName', value: 'localhost' },
      { name: 'organizationName', value: label },
    ],
    {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate: new Date(validity.from ?? now - day),
      notAfterDate: new Date(validity.to ?? now + day),
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 7, ip: '127.0.0.1' },
          ],
        },
      ],
    },
  );
  return { cert: pems.cert, key: pems.private };
}

/** `X509Certificate.fingerprint256` of a PEM certificate. */
export function fingerprintOf(pem: string | Buffer): string {
  return new X509Certificate(pem).fingerprint256;
}

/** Replaces `file` atomically (write beside it, rename over it), as certificate tooling does. */
export async function replaceFile(file: string, content: string): Promise<void> {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  await writeFile(temporary, content, { mode: 0o600 });
  await rename(temporary, file);
}

/** A response, and what the connection it came over showed. */
export interface TlsResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  /** The server certificate's fingerprint256 on this connection. */
  readonly serverFingerprint: string;
  readonly protocol: string | null;
  /** True when an agent's kept-alive connection carried the request. */
  readonly reusedSocket: boolean;
}

/** What a request presents. */
export interface TlsRequestOptions {
  readonly port: number;
  /** The trust anchors for the server certificate. */
  readonly ca: string | Buffer | readonly (string | Buffer)[];
  readonly client?: Pem;
  readonly path?: string;
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** A keep-alive agent; a fresh connection otherwise. */
  readonly agent?: Agent;
}

/** One HTTPS request to 127.0.0.1 (SNI localhost), optionally with a client certificate; rejects on any TLS or socket error. */
export function tlsRequest(options: TlsRequestOptions): Promise<TlsResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        servername: 'localhost',
        port: options.port,
        path: options.path ?? '/health',
        method: options.method ?? 'GET',
        headers: options.headers,
        ca: options.ca as string[],
        agent: options.agent ?? false,
        ...(options.client !== undefined && { cert: options.client.cert, key: options.client.key }),
      },
      (res) => {
        const socket = res.socket;
        if (!(socket instanceof TLSSocket)) throw new TypeError('not a TLS connection');
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
            serverFingerprint: socket.getPeerCertificate().fingerprint256,
            protocol: socket.getProtocol(),
            reusedSocket: req.reusedSocket,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
