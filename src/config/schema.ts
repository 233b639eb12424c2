/** The validated, frozen configuration every module receives (STYLE.md #5). */
export interface Config {
  readonly env: 'development' | 'production';
  readonly host: string;
  readonly port: number;
  /** Folder for the SQLite database, keyring and development certificate. */
  readonly dataDir: string;
  /** A SQLite file path or a postgres:// URL. */
  readonly databaseUrl: string;
  readonly tls: {
    readonly certPath: string;
    readonly keyPath: string;
    /** True when the cert/key are the generated development pair. */
    readonly generated: boolean;
  };
  readonly limits: {
    /** Largest accepted request body, bytes. */
    readonly bodyBytes: number;
    /** Largest accepted request header block, bytes. */
    readonly headerBytes: number;
    /** Milliseconds a client may take to send its headers. */
    readonly headersTimeoutMs: number;
    /** Milliseconds a client may take to send its whole request. */
    readonly requestTimeoutMs: number;
    /** Search page size when _count is not given, and its cap. */
    readonly defaultPageSize: number;
    readonly maxPageSize: number;
  };
  readonly auth: {
    /** `iss` of tokens this server signs, and of the local issuer profile. */
    readonly issuer: string;
    /** `aud` the API requires. */
    readonly audience: string;
    readonly clockSkewSeconds: number;
  };
  readonly keys: {
    /** The local keyring file (token- and audit-signing keys). */
    readonly keyringPath: string;
  };
  readonly audit: {
    /** Milliseconds between signed checkpoints of a writer's chain. */
    readonly checkpointIntervalMs: number;
  };
  /** Redis for state shared by several processes; null keeps it in process. */
  readonly redisUrl: string | null;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Milliseconds SIGTERM waits for in-flight requests before closing. */
  readonly shutdownGraceMs: number;
}
