// The layers of src/, lowest first (docs/architecture.md). A module may import
// from its own layer and from layers below it, never from a layer above.
// eslint.config.js turns this list into import-x/no-restricted-paths zones,
// and test/architecture/layers.test.ts checks the real import graph and the
// table in docs/architecture.md against it.

/** @type {readonly { readonly name: string; readonly paths: readonly string[]; readonly holds: string }[]} */
export const layers = [
  { name: 'errors', paths: ['errors'], holds: 'the error catalogue, ApiError, the envelope' },
  {
    name: 'lib',
    paths: ['lib'],
    holds:
      'domain-free helpers: random ids, HTML escaping, LRU cache, CIDR and address lists, outbound fetch, circuit breakers, the security-event stream, certificate thumbprints',
  },
  {
    name: 'config',
    paths: ['config'],
    holds:
      'settings, their parsers and vocabularies (roles, rate-limit policies, monitoring rules, external issuers) into one frozen Config',
  },
  {
    name: 'http',
    paths: ['http'],
    holds:
      'what every layer knows of a request: the principal, request decorations, method refusal, cursors, query parameters',
  },
  {
    name: 'storage',
    paths: ['storage'],
    holds: 'every port and every SQLite, PostgreSQL and Redis adapter, migrations',
  },
  { name: 'keys', paths: ['keys'], holds: 'key managers (local keyring, PKCS#11), envelope sealing, blind-index keys' },
  {
    name: 'access',
    paths: ['access'],
    holds: 'the access decision: roles and permissions, SMART scopes, compartments, care teams',
  },
  {
    name: 'audit',
    paths: ['audit'],
    holds: 'audit events, the hash chain, the durable writer, verification, the per-request audit step and its API',
  },
  { name: 'monitoring', paths: ['monitoring'], holds: 'detectors, alerts, sinks, the live stream, health' },
  {
    name: 'edge',
    paths: ['edge'],
    holds: 'request ids, TLS, mTLS, filtering, limits, CORS, security headers, error responses',
  },
  { name: 'gateway', paths: ['gateway'], holds: 'rate limits, the breaker gate, logging, metrics' },
  {
    name: 'auth',
    paths: ['auth'],
    holds: 'authentication: bearer verification, the OAuth/OIDC server, login and MFA, users, external IdPs',
  },
  {
    name: 'resources',
    paths: ['resources'],
    holds: 'the resource engine, FHIR datatypes and validation, search, the /api/v1 face',
  },
  {
    name: 'rotation',
    paths: ['rotation'],
    holds: 'key rotation jobs (data keys, KEKs, signing keys, the blind-index key)',
  },
  { name: 'fips', paths: ['fips'], holds: 'FIPS mode: algorithm policy and self-tests' },
  {
    name: 'composition',
    paths: [
      'app.ts',
      'runtime.ts',
      'startup.ts',
      'service-overrides.ts',
      'gate.ts',
      'services.ts',
      'server.ts',
      'main.ts',
      'cli',
    ],
    holds: 'the composition root, the server process and the operator CLI',
  },
];

/**
 * import-x/no-restricted-paths zones: a layer may not import from any layer
 * above it. Paths are relative to the repository root.
 */
export function layerZones() {
  return layers.slice(0, -1).map((layer, index) => ({
    target: layer.paths.map((p) => `./src/${p}`),
    from: layers.slice(index + 1).flatMap((above) => above.paths.map((p) => `./src/${p}`)),
    message: `the ${layer.name} layer may not import from a layer above it (docs/architecture.md)`,
  }));
}
