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
  {
    name: 'CADUCEUS_ENV',
    default: 'development',
    meaning:
      '`development` or `production`; production refuses the generated development certificate and privileged CLI tokens',
  },
  { name: 'CADUCEUS_HOST', default: '127.0.0.1', meaning: 'Address the HTTPS listener binds to' },
  { name: 'CADUCEUS_PORT', default: '8443', meaning: 'HTTPS port (0 picks a free one)' },
  {
    name: 'CADUCEUS_DATA_DIR',
    default: './data',
    meaning: 'Folder for the SQLite database, the keyring and the development certificate',
  },
  {
    name: 'CADUCEUS_DATABASE_URL',
    default: '`<data dir>/caduceus.db`',
    meaning: 'A SQLite file path (its audit log goes in `<name>-audit.db` beside it) or a `postgres://` URL',
  },
  {
    name: 'CADUCEUS_DATABASE_SSLMODE',
    default: '`verify-full` when a CADUCEUS_DATABASE_ file is set, else `disable`',
    meaning:
      'TLS to PostgreSQL (docs/database-tls.md): `disable`, `verify-ca` (chain only) or `verify-full` (chain and host name); there is no mode without verification, and ssl parameters in CADUCEUS_DATABASE_URL are refused',
  },
  {
    name: 'CADUCEUS_DATABASE_CA_FILE',
    default: '(none: the system CAs)',
    meaning: "PEM bundle of the CAs that sign the PostgreSQL server's certificate; setting it asks for TLS",
  },
  {
    name: 'CADUCEUS_DATABASE_CERT_FILE',
    default: '(none)',
    meaning:
      'PEM client certificate for PostgreSQL (`clientcert=verify-full` in pg_hba.conf); set together with CADUCEUS_DATABASE_KEY_FILE',
  },
  {
    name: 'CADUCEUS_DATABASE_KEY_FILE',
    default: '(none)',
    meaning: 'PEM private key of the PostgreSQL client certificate (owner-only file)',
  },
  {
    name: 'CADUCEUS_TLS_CERT',
    default: '`<data dir>/dev-cert.pem` (generated)',
    meaning: 'PEM certificate chain; set together with CADUCEUS_TLS_KEY',
  },
  {
    name: 'CADUCEUS_TLS_KEY',
    default: '`<data dir>/dev-key.pem` (generated)',
    meaning: 'PEM private key of the certificate',
  },
  {
    name: 'CADUCEUS_TLS_TICKET_KEY_FILE',
    default: '(none: derived from the master key, renewed daily)',
    meaning:
      'File of the 48-byte TLS session ticket key (hex or base64), so that a client resumes its TLS session on any process behind the load balancer; every process must use the same one (docs/tls.md)',
  },
  {
    name: 'CADUCEUS_MTLS_PORT',
    default: '(none: no device listener)',
    meaning:
      'Port of a second HTTPS listener that requires a client certificate from CADUCEUS_MTLS_CA (mutual TLS for devices, docs/tls.md); same routes as the main listener, which never asks for a certificate',
  },
  {
    name: 'CADUCEUS_MTLS_CA',
    default: '(none; required with the port)',
    meaning:
      'PEM bundle of the CA certificate(s) that issue device certificates; the mutual-TLS listener accepts only their certificates',
  },
  {
    name: 'CADUCEUS_MTLS_URL',
    default: '`https://localhost:<mtls port>`',
    meaning: 'Public base URL of the mutual-TLS listener, published as RFC 8705 `mtls_endpoint_aliases`',
  },
  {
    name: 'CADUCEUS_KEYRING',
    default: '`<data dir>/keyring.json`',
    meaning:
      'Local keyring of token- and audit-signing keys, sealed by the master key (mode 0600); every process of one deployment must share it',
  },
  {
    name: 'CADUCEUS_KEY_MANAGER',
    default: 'local',
    meaning:
      'Where the key-encryption keys live: `local` (a keyring file sealed by the master key) or `pkcs11` (an HSM; needs the CADUCEUS_PKCS11_ settings) (docs/key-management.md)',
  },
  {
    name: 'CADUCEUS_SIGNING_KEYS',
    default: 'local',
    meaning:
      'Where the token- and audit-signing keys live: `local` (the keyring file sealed by the master key) or `pkcs11` (ES256 keys generated on the HSM token; needs the CADUCEUS_PKCS11_ settings) (docs/hsm.md)',
  },
  {
    name: 'CADUCEUS_REQUIRE_HSM',
    default: 'false',
    meaning:
      '`true` refuses to start unless CADUCEUS_KEY_MANAGER is `pkcs11`; otherwise production with the `local` key manager starts with a loud warning',
  },
  {
    name: 'CADUCEUS_MASTER_KEY_FILE',
    default: '(none; development generates `<data dir>/master.key`)',
    meaning:
      'Owner-only file holding the 32-byte master key (64 hex digits or base64) that seals every keyring; production refuses to start without it or CADUCEUS_MASTER_KEY. Back it up: losing it loses the data',
  },
  {
    name: 'CADUCEUS_MASTER_KEY',
    default: '(none)',
    meaning: 'The master key itself (64 hex digits or base64), when no file is set; never logged or echoed',
  },
  {
    name: 'CADUCEUS_KEK_KEYRING',
    default: '`<data dir>/kek-keyring.json`',
    meaning:
      "The `local` key manager's key-encryption keys, sealed by the master key (mode 0600); every process of one deployment must share it",
  },
  {
    name: 'CADUCEUS_ENCRYPTION',
    default: 'on',
    meaning: '`off` stores resource bodies unsealed, for benchmarks and diagnostics only; refused in production',
  },
  {
    name: 'CADUCEUS_FIPS',
    default: 'off',
    meaning:
      '`on`: FIPS mode (docs/fips.md): refuses to start unless Node runs on an OpenSSL 3 FIPS provider (`crypto.getFips()` is 1), runs known-answer self-tests at start and allows only FIPS 140-3 approved algorithms (PBKDF2-HMAC-SHA-256 for new password hashes); `caduceus fips report` lists them',
  },
  {
    name: 'CADUCEUS_DATA_KEY_CACHE_SIZE',
    default: '1024',
    meaning: 'Most unwrapped data keys kept in memory (1–1000000), least recently used evicted',
  },
  {
    name: 'CADUCEUS_KEY_MANAGER_TIMEOUT_MS',
    default: '2000',
    meaning:
      'A data-key wrap or unwrap slower than this (50–60000) answers 503 and counts against the `key-manager` circuit breaker',
  },
  {
    name: 'CADUCEUS_DATA_KEY_REFRESH_MS',
    default: '30000',
    meaning:
      'How often each process re-reads which data key is current (100–600000 ms): after a data-key rotation by another process, new writes use the new key within this time; index keys are re-read as often (docs/blind-indexes.md)',
  },
  {
    name: 'CADUCEUS_KEY_ROTATION_DAYS',
    default: 'off',
    meaning:
      'Scheduled rotation in the server: every this many days (1–3650) one server of the deployment rotates the key-encryption key and the data key and re-encrypts old records in the background (docs/key-management.md "Rotation")',
  },
  {
    name: 'CADUCEUS_PKCS11_MODULE',
    default: '(none)',
    meaning:
      "Path of the HSM's PKCS#11 module, e.g. `/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so`; key-encryption keys are then generated and kept on the token (docs/hsm.md)",
  },
  {
    name: 'CADUCEUS_PKCS11_TOKEN_LABEL',
    default: '(none)',
    meaning:
      'Label of the PKCS#11 token holding the key-encryption keys (1–32 bytes); required with CADUCEUS_PKCS11_MODULE',
  },
  {
    name: 'CADUCEUS_PKCS11_PIN_FILE',
    default: '(none)',
    meaning:
      "File holding the token's user PIN (owner-only; one trailing newline ignored); preferred over CADUCEUS_PKCS11_PIN",
  },
  {
    name: 'CADUCEUS_PKCS11_PIN',
    default: '(none)',
    meaning: "The token's user PIN, when no PIN file is set; never logged or echoed",
  },
  {
    name: 'CADUCEUS_ISSUER',
    default: '`https://localhost:<port>`',
    meaning:
      '`iss` of access tokens this server signs and accepts; every process of a deployment must set the same one (required in production on PostgreSQL)',
  },
  {
    name: 'CADUCEUS_OIDC_COOKIE_KEYS_FILE',
    default: '(none: derived from the master key)',
    meaning:
      "File of the keys that sign the authorization server's cookies, one per line (hex or base64, at least 32 bytes), newest first; every process of a deployment must use the same file, or the same master key (docs/key-management.md)",
  },
  { name: 'CADUCEUS_AUDIENCE', default: '`<issuer>/api/v1`', meaning: '`aud` every access token must carry' },
  {
    name: 'CADUCEUS_ACCESS_TOKEN_TTL_SECONDS',
    default: '900',
    meaning: 'Lifetime of access tokens the authorization server issues (60–3600 seconds; docs/oauth.md)',
  },
  {
    name: 'CADUCEUS_REFRESH_TOKEN_TTL_SECONDS',
    default: '28800',
    meaning:
      'Absolute lifetime of a refresh-token chain (300–2592000 seconds): rotation never extends it past the first issue; must exceed the access-token lifetime',
  },
  {
    name: 'CADUCEUS_JWKS_FETCH_ALLOW',
    default: '(none)',
    meaning:
      "IP addresses or CIDR subnets, comma-separated, that a client's https `jwks_uri` may resolve to although loopback, private or link-local; any other internal address is refused (docs/oauth.md)",
  },
  {
    name: 'CADUCEUS_CLOCK_SKEW_SECONDS',
    default: '30',
    meaning: 'Clock skew tolerated on `exp`, `nbf` and `iat` (0–300)',
  },
  {
    name: 'CADUCEUS_EXTERNAL_ISSUERS_FILE',
    default: '(none)',
    meaning:
      "JSON file of a hospital's own identity providers (Keycloak, Entra ID, Okta) whose access tokens are accepted: issuer, https jwks_uri, audience, algorithms, accepted `typ`, role claim and its mapping to Caduceus roles (docs/external-idp.md)",
  },
  { name: 'CADUCEUS_BODY_LIMIT_BYTES', default: '1048576', meaning: 'Largest request body; larger answers 413' },
  {
    name: 'CADUCEUS_HEADER_LIMIT_BYTES',
    default: '16384',
    meaning: 'Largest request header block; larger answers 431',
  },
  {
    name: 'CADUCEUS_HEADERS_TIMEOUT_MS',
    default: '10000',
    meaning: 'Time a client has to send its headers (slow-client guard); 408 after',
  },
  {
    name: 'CADUCEUS_REQUEST_TIMEOUT_MS',
    default: '30000',
    meaning: 'Time a client has to send its whole request; 408 after',
  },
  {
    name: 'CADUCEUS_TRUSTED_PROXIES',
    default: '(none: X-Forwarded-For ignored)',
    meaning:
      'Comma-separated IP addresses or CIDR blocks of reverse proxies whose `X-Forwarded-For` is honoured, read right to left (docs/edge.md)',
  },
  {
    name: 'CADUCEUS_IP_ALLOW_LIST',
    default: '(none: every address)',
    meaning:
      'Comma-separated IP addresses or CIDR blocks (IPv4 or IPv6); when set, any other client address answers 403',
  },
  {
    name: 'CADUCEUS_IP_DENY_LIST',
    default: '(none)',
    meaning: 'Comma-separated IP addresses or CIDR blocks whose clients answer 403; checked before the allow list',
  },
  {
    name: 'CADUCEUS_MAX_URL_BYTES',
    default: '8192',
    meaning: 'Longest request target (path and query string) in bytes (256–1048576); longer answers 400',
  },
  {
    name: 'CADUCEUS_MAX_HEADERS',
    default: '100',
    meaning: 'Most header fields one request may carry (8–1000); more answers 400',
  },
  {
    name: 'CADUCEUS_MAX_QUERY_PARAMS',
    default: '50',
    meaning: 'Most query parameters one request may carry (1–1000); more answers 400',
  },
  {
    name: 'CADUCEUS_MAX_CONNECTIONS_PER_IP',
    default: '256',
    meaning:
      'Most open connections from one peer address (0: no limit); trusted proxies are exempt; further connections are closed at once',
  },
  {
    name: 'CADUCEUS_SUSPICIOUS_INPUT',
    default: 'report',
    meaning:
      'SQL- or script-looking text in query or body values: `report` (a security event only) or `block` (also answers 400)',
  },
  {
    name: 'CADUCEUS_CORS_ORIGINS',
    default: '(none: no cross-origin access)',
    meaning:
      'Comma-separated exact origins of browser apps allowed to call the API cross-origin, e.g. `https://app.example.org,http://localhost:5173`; no wildcard; production requires https except for loopback hosts (docs/access-control.md)',
  },
  { name: 'CADUCEUS_PAGE_SIZE', default: '20', meaning: 'Search page size when `_count` is absent' },
  { name: 'CADUCEUS_MAX_PAGE_SIZE', default: '100', meaning: 'Largest `_count` a search accepts' },
  {
    name: 'CADUCEUS_AUDIT_CHECKPOINT_MS',
    default: '60000',
    meaning: 'Interval between signed checkpoints of the audit hash chain',
  },
  {
    name: 'CADUCEUS_AUDIT_EXPORT_MAX_RECORDS',
    default: '100000',
    meaning:
      'Most audit events one `GET /api/v1/audit-events/_export` streams (1–10000000); a longer export ends with a `next` line to resume from',
  },
  {
    name: 'CADUCEUS_DB_TIMEOUT_MS',
    default: '5000',
    meaning:
      'A PostgreSQL statement (or wait for a pooled connection) slower than this (50–600000) answers 503 and counts against the `postgres` circuit breaker (docs/circuit-breakers.md); SQLite is bounded by its busy timeout instead',
  },
  {
    name: 'CADUCEUS_BREAKER_RESET_MS',
    default: '10000',
    meaning: 'How long an open circuit breaker answers 503 at once before it lets one trial call through (100–600000)',
  },
  {
    name: 'CADUCEUS_REDIS_URL',
    default: '(none: in-process state)',
    meaning:
      'A `redis://` or `rediss://` URL; when set, rate limits and monitoring state are shared through Redis by every process',
  },
  {
    name: 'CADUCEUS_REDIS_CA_FILE',
    default: '(none: the system CAs)',
    meaning:
      "PEM bundle of the CAs that sign the Redis server's certificate; needs a `rediss://` CADUCEUS_REDIS_URL (certificate and host name always verified; docs/database-tls.md)",
  },
  {
    name: 'CADUCEUS_REDIS_CERT_FILE',
    default: '(none)',
    meaning: 'PEM client certificate for Redis (`tls-auth-clients yes`); set together with CADUCEUS_REDIS_KEY_FILE',
  },
  {
    name: 'CADUCEUS_REDIS_KEY_FILE',
    default: '(none)',
    meaning: 'PEM private key of the Redis client certificate (owner-only file)',
  },
  {
    name: 'CADUCEUS_RATE_LIMIT',
    default: '(the defaults in docs/rate-limits.md)',
    meaning:
      'Token-bucket limits to tune, comma-separated `policy=RATE/PERIOD[:BURST]` or `policy=off` for the policies `ip`, `read`, `write`, `auth`, `default` (e.g. `read=300/1m:60,auth=5/1m:3`); periods in s, m or h; `off` turns rate limiting off entirely (benchmarks)',
  },
  {
    name: 'CADUCEUS_RATE_LIMIT_REDIS_FAILURE',
    default: 'local',
    meaning:
      'While Redis is unreachable (CADUCEUS_REDIS_URL set): `local` (each process limits with its own buckets) or `closed` (answer 503 with Retry-After)',
  },
  {
    name: 'CADUCEUS_ALERT_RULES',
    default: '(the defaults in docs/monitoring.md)',
    meaning:
      'Detection rules to tune or turn off, comma-separated: `kind=N/WINDOW`, `kind=WINDOW` or `kind=off` (e.g. `patient_snooping=30/1h,bulk_read=off`); windows in s, m, h or d',
  },
  {
    name: 'CADUCEUS_ALERT_HOURS',
    default: '(none: no off-hours alerts)',
    meaning:
      'Working hours `HH:MM-HH:MM`, optionally followed by a space and an IANA time zone (default UTC), e.g. `07:00-19:00 Europe/Berlin`; authenticated access outside them raises `off_hours_access`',
  },
  {
    name: 'CADUCEUS_ALERT_WEBHOOK_URL',
    default: '(none)',
    meaning:
      'An `https://` URL every alert is POSTed to as signed JSON; refused while it resolves to a loopback, private or link-local address not in CADUCEUS_ALERT_WEBHOOK_ALLOW',
  },
  {
    name: 'CADUCEUS_ALERT_WEBHOOK_SECRET',
    default: '(none; required with the URL)',
    meaning: "HMAC-SHA-256 key of the webhook's `Caduceus-Signature` header, at least 32 characters",
  },
  {
    name: 'CADUCEUS_ALERT_WEBHOOK_ALLOW',
    default: '(none)',
    meaning: 'IP addresses or CIDR subnets, comma-separated, that an internal-looking webhook target may resolve to',
  },
  {
    name: 'CADUCEUS_ALERT_SYSLOG',
    default: '(none)',
    meaning: '`udp://host:port` or `tcp://host:port` of a syslog receiver; alerts go there as RFC 5424 messages',
  },
  {
    name: 'CADUCEUS_ALERT_SYSLOG_FACILITY',
    default: 'local0',
    meaning: 'RFC 5424 facility name of alert messages (kern, user, …, authpriv, …, local0 to local7)',
  },
  {
    name: 'CADUCEUS_ALERT_SYSLOG_APP_NAME',
    default: 'caduceus',
    meaning: 'APP-NAME of alert messages: 1 to 48 printable ASCII characters',
  },
  {
    name: 'CADUCEUS_MFA_ROLES',
    default: 'admin,clinician,nurse,auditor',
    meaning:
      'Roles that must pass a second factor (TOTP, passkey or recovery code) at login, comma-separated, or `none`; a user of such a role without a factor is sent to enrolment (docs/login-and-mfa.md)',
  },
  {
    name: 'CADUCEUS_SESSION_IDLE_SECONDS',
    default: '900',
    meaning: 'A login session untouched this long ends (automatic logoff), 60–86400',
  },
  {
    name: 'CADUCEUS_SESSION_ABSOLUTE_SECONDS',
    default: '28800',
    meaning: 'A login session ends this long after it began, however active, 60–604800; not less than the idle timeout',
  },
  {
    name: 'CADUCEUS_WEBAUTHN_RP_ID',
    default: "(the issuer's host name)",
    meaning:
      "WebAuthn relying-party id passkeys are bound to: the host of CADUCEUS_ISSUER or a parent domain of it; the expected origin is the issuer's",
  },
  {
    name: 'CADUCEUS_ARGON2_MEMORY_KIB',
    default: '19456',
    meaning:
      'argon2id memory cost of new password hashes, KiB (8192–4194304); a stored hash with other parameters is re-hashed at its next successful login (docs/users.md)',
  },
  { name: 'CADUCEUS_ARGON2_TIME_COST', default: '2', meaning: 'argon2id passes of new password hashes (1–100)' },
  {
    name: 'CADUCEUS_PBKDF2_ITERATIONS',
    default: '600000',
    meaning: 'PBKDF2-HMAC-SHA-256 iterations of new password hashes in FIPS mode (100000–100000000)',
  },
  {
    name: 'CADUCEUS_PASSWORD_HASH_CONCURRENCY',
    default: 'cores − 1, at least 1',
    meaning:
      'Password hashes computed at once (1–64), each on a hashing thread of its own; the default leaves one core (os.availableParallelism) to the event loop',
  },
  {
    name: 'CADUCEUS_PASSWORD_HASH_QUEUE',
    default: '32',
    meaning:
      'Password hashes allowed to wait (0–100000); a login beyond that answers 503 with Retry-After instead of queueing',
  },
  {
    name: 'CADUCEUS_PASSWORD_HASH_NICE',
    default: '19',
    meaning:
      "How much lower the hashing threads' scheduling priority is than the process's (0–19; Linux): with 19 a login burst's hashes get only CPU time the API leaves idle (docs/users.md \"The hashing queue\")",
  },
  {
    name: 'CADUCEUS_PASSWORD_HASH_CPU_PERCENT',
    default: '25',
    meaning:
      'Share of all cores password hashing may use on average, in percent (0–100; 0 turns the budget off); a login beyond it answers 503 with Retry-After at once',
  },
  {
    name: 'CADUCEUS_LOCKOUT_ACCOUNT_FAILURES',
    default: '5',
    meaning:
      'Failed logins for one username within the window before it is locked (1–1000); each further failure doubles the lock',
  },
  {
    name: 'CADUCEUS_LOCKOUT_IP_FAILURES',
    default: '20',
    meaning:
      'Failed logins from one source address within the window before it is locked (1–100000); each further failure doubles the lock',
  },
  { name: 'CADUCEUS_LOCKOUT_BASE_SECONDS', default: '60', meaning: "The first lock's length in seconds (1–86400)" },
  {
    name: 'CADUCEUS_LOCKOUT_MAX_SECONDS',
    default: '3600',
    meaning: 'The longest lock in seconds (1–604800), however many failures',
  },
  {
    name: 'CADUCEUS_LOCKOUT_WINDOW_SECONDS',
    default: '900',
    meaning: 'Failures are forgotten once none has happened for this long plus CADUCEUS_LOCKOUT_MAX_SECONDS (1–604800)',
  },
  {
    name: 'CADUCEUS_LOG_LEVEL',
    default: 'info',
    meaning:
      'pino level: fatal, error, warn, info, debug, trace or silent; `debug` adds a line per request (route pattern, status, time; never the URL)',
  },
  {
    name: 'CADUCEUS_LOG_FORMAT',
    default: '`pretty` in development when standard output is a terminal, else `json`',
    meaning:
      '`json` (one pino JSON object a line, for log collectors) or `pretty` (human-readable lines, pino-pretty); both redacted alike (docs/logging.md)',
  },
  {
    name: 'CADUCEUS_SHUTDOWN_DRAIN_MS',
    default: '1000',
    meaning:
      'On SIGTERM, how long the server first answers every request 503 with Connection: close on the connections it still has (0–60000), so a request sent on a kept-alive connection is answered, not reset; then it closes them',
  },
  { name: 'CADUCEUS_SHUTDOWN_GRACE_MS', default: '10000', meaning: 'How long SIGTERM waits for in-flight requests' },
];
