/**
 * The edge settings (docs/edge.md, README configuration table): CIDR lists
 * parse IPv4, IPv6 and IPv4-mapped blocks; anything else stops the server
 * with the setting named and the value not repeated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config/index.js';

test('defaults: no proxies, no lists, report mode, the documented limits', () => {
  const { edge } = loadConfig({}, '/tmp');
  assert.deepEqual(edge, {
    trustedProxies: [],
    allowList: [],
    denyList: [],
    maxUrlBytes: 8192,
    maxHeaderCount: 100,
    maxQueryParams: 50,
    maxConnectionsPerIp: 256,
    suspiciousInput: 'report',
  });
  assert.ok(Object.isFrozen(edge) && Object.isFrozen(edge.trustedProxies));
});

test('CIDR lists take addresses and blocks, comma- or space-separated; IPv4-mapped blocks become IPv4', () => {
  const { edge } = loadConfig(
    {
      CADUCEUS_TRUSTED_PROXIES: '10.0.0.0/8, 192.0.2.7  2001:db8::/32',
      CADUCEUS_IP_DENY_LIST: '::ffff:203.0.113.0/120,::1',
      CADUCEUS_IP_ALLOW_LIST: ' ',
    },
    '/tmp',
  );
  assert.deepEqual(edge.trustedProxies, [
    { address: '10.0.0.0', prefix: 8, family: 'ipv4' },
    { address: '192.0.2.7', prefix: 32, family: 'ipv4' },
    { address: '2001:db8::', prefix: 32, family: 'ipv6' },
  ]);
  assert.deepEqual(edge.denyList, [
    { address: '203.0.113.0', prefix: 24, family: 'ipv4' },
    { address: '::1', prefix: 128, family: 'ipv6' },
  ]);
  assert.deepEqual(edge.allowList, []);
});

test('malformed lists and out-of-range limits are refused naming the setting, never echoing the value', () => {
  const plant = 'Zqxplant';
  const cases: Record<string, string>[] = [
    { CADUCEUS_TRUSTED_PROXIES: `10.0.0.0/8,${plant}` },
    { CADUCEUS_IP_ALLOW_LIST: '10.0.0.0/33' },
    { CADUCEUS_IP_ALLOW_LIST: '10.0.0.1/' },
    { CADUCEUS_IP_DENY_LIST: '::1/129' },
    { CADUCEUS_IP_DENY_LIST: 'fe80::1%eth0' },
    { CADUCEUS_IP_DENY_LIST: '300.1.1.1' },
    { CADUCEUS_IP_DENY_LIST: '10.0.0.0/-1' },
    { CADUCEUS_MAX_URL_BYTES: '100' },
    { CADUCEUS_MAX_HEADERS: '5000' },
    { CADUCEUS_MAX_QUERY_PARAMS: '0' },
    { CADUCEUS_MAX_CONNECTIONS_PER_IP: '-1' },
    { CADUCEUS_SUSPICIOUS_INPUT: plant },
  ];
  for (const env of cases) {
    const [[name, value]] = Object.entries(env) as [[string, string]];
    assert.throws(
      () => loadConfig(env, '/tmp'),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, name);
        assert.ok(error.message.includes(name), error.message);
        // Numbers can appear in the stated range; every list value here is text no message contains.
        if (!/^-?\d+$/.test(value)) assert.ok(!error.message.includes(value), error.message);
        assert.ok(!error.message.includes(plant), error.message);
        return true;
      },
    );
  }
});
