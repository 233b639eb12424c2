/**
 * Every environment setting, its default and meaning. README.md's
 * configuration table lists exactly these (test/config/config.test.ts).
 */
export interface Setting {
  readonly name: string;
  readonly default: string;
  readonly meaning: string;
}

export const settings: readonly Setting[] = [
  { name: 'CADUCEUS_ENV', default: 'development', meaning: '`development` or `production`; production refuses the generated development certificate and privileged CLI tokens' },
  { name: 'CADUCEUS_HOST', default: '127.0.0.1', meaning: 'Address the HTTPS listener binds to' },
  { name: 'CADUCEUS_PORT', default: '8443', meaning: 'HTTPS port (0 picks a free one)' },
  { name: 'CADUCEUS_DATA_DIR', default: './data', meaning: 'Folder for the SQLite database, the keyring and the development certificate' },
  { name: 'CADUCEUS_DATABASE_URL', default: '`<data dir>/caduceus.db`', meaning: 'A SQLite file path (its audit log goes in `<name>-audit.db` beside it) or a `postgres://` URL' },
  { name: 'CADUCEUS_TLS_CERT', default: '`<data dir>/dev-cert.pem` (generated)', meaning: 'PEM certificate chain; set together with CADUCEUS_TLS_KEY' },
  { name: 'CADUCEUS_TLS_KEY', default: '`<data dir>/dev-key.pem` (generated)', meaning: 'PEM private key of the certificate' },
  { name: 'CADUCEUS_KEYRING', default: '`<data dir>/keyring.json`', meaning: 'Local keyring of token- and audit-signing keys (mode 0600); every process of one deployment must share it' },
  { name: 'CADUCEUS_ISSUER', default: '`https://localhost:<port>`', meaning: '`iss` of access tokens this server signs and accepts' },
  { name: 'CADUCEUS_AUDIENCE', default: '`<issuer>/api/v1`', meaning: '`aud` every access token must carry' },
  { name: 'CADUCEUS_CLOCK_SKEW_SECONDS', default: '30', meaning: 'Clock skew tolerated on `exp`, `nbf` and `iat` (0–300)' },
  { name: 'CADUCEUS_BODY_LIMIT_BYTES', default: '1048576', meaning: 'Largest request body; larger answers 413' },
  { name: 'CADUCEUS_HEADER_LIMIT_BYTES', default: '16384', meaning: 'Largest request header block; larger answers 431' },
  { name: 'CADUCEUS_HEADERS_TIMEOUT_MS', default: '10000', meaning: 'Time a client has to send its headers (slow-client guard); 408 after' },
  { name: 'CADUCEUS_REQUEST_TIMEOUT_MS', default: '30000', meaning: 'Time a client has to send its whole request; 408 after' },
  { name: 'CADUCEUS_PAGE_SIZE', default: '20', meaning: 'Search page size when `_count` is absent' },
  { name: 'CADUCEUS_MAX_PAGE_SIZE', default: '100', meaning: 'Largest `_count` a search accepts' },
  { name: 'CADUCEUS_AUDIT_CHECKPOINT_MS', default: '60000', meaning: 'Interval between signed checkpoints of the audit hash chain' },
  { name: 'CADUCEUS_REDIS_URL', default: '(none: in-process state)', meaning: 'A `redis://` or `rediss://` URL; when set, rate limits and monitoring state are shared through Redis by every process' },
  { name: 'CADUCEUS_LOG_LEVEL', default: 'info', meaning: 'pino level: fatal, error, warn, info, debug, trace or silent; `debug` adds a line per request (route pattern, status, time; never the URL)' },
  { name: 'CADUCEUS_SHUTDOWN_GRACE_MS', default: '10000', meaning: 'How long SIGTERM waits for in-flight requests' },
];
