import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { defaultRuleSpecs } from '../../src/config/monitoring-rules.js';
import { localMinuteOf, withinHours } from '../../src/monitoring/rules/off-hours-access.js';
import { networkOf } from '../../src/monitoring/network.js';

const load = (env: Record<string, string>) => loadConfig({ CADUCEUS_DATA_DIR: '/tmp/x', ...env }, '/tmp');

test('CADUCEUS_ALERT_RULES: defaults, overrides, off; invalid specs name the setting and the rule, never the value', () => {
  const defaults = load({}).monitoring.rules;
  assert.deepEqual(defaults.patient_snooping, { threshold: 50, windowMs: 3_600_000 });
  const tuned = load({
    CADUCEUS_ALERT_RULES: ' patient_snooping=30/2h , bulk_read=off,new_network=90d,integrity_error=on',
  }).monitoring.rules;
  assert.deepEqual(tuned.patient_snooping, { threshold: 30, windowMs: 7_200_000 });
  assert.equal(tuned.bulk_read, null);
  assert.deepEqual(tuned.new_network, { threshold: 1, windowMs: 90 * 86_400_000 });
  assert.deepEqual(tuned.repeated_forbidden, defaults.repeated_forbidden);
  const refuses = (raw: string, pattern: RegExp) => {
    assert.throws(
      () => load({ CADUCEUS_ALERT_RULES: raw }),
      (error: Error) =>
        error.name === 'ConfigError' && pattern.test(error.message) && error.message.startsWith('CADUCEUS_ALERT_RULES'),
    );
  };
  refuses('nosuchrule=5/1m', /unknown rule/);
  refuses('secretvalue42=1/1m', /^(?!.*secretvalue42)/);
  refuses('bulk_read=5', /bulk_read: must be N\/WINDOW/);
  refuses('bulk_read=0/1m', /bulk_read/);
  refuses('bulk_read=5/1y', /bulk_read: the window/);
  refuses('bulk_read=5/500d', /bulk_read: the window/);
  refuses('new_network=3/1d', /new_network: the window/);
  refuses('integrity_error=5/1m', /integrity_error: must be on or off/);
});

test('every rule and its default is documented in docs/monitoring.md', async () => {
  const doc = await readFile(new URL('../../docs/monitoring.md', import.meta.url), 'utf8');
  for (const [kind, { shape, spec }] of Object.entries(defaultRuleSpecs)) {
    const window = (ms: number): string =>
      ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : `${ms / 60_000}m`;
    const expected =
      shape === 'count'
        ? `${spec.threshold}/${window(spec.windowMs)}`
        : shape === 'window'
          ? window(spec.windowMs)
          : 'on';
    assert.match(
      doc,
      new RegExp(`^\\| \`${kind}\` \\| \`${expected.replace('/', '\\/')}\` \\|`, 'm'),
      `${kind} default ${expected}`,
    );
  }
});

test('CADUCEUS_ALERT_HOURS: HH:MM-HH:MM with an optional IANA zone; unknown zones and bad ranges refused', () => {
  assert.equal(load({}).monitoring.hours, null);
  assert.deepEqual(load({ CADUCEUS_ALERT_HOURS: '07:00-19:00' }).monitoring.hours, {
    startMinute: 420,
    endMinute: 1140,
    timeZone: 'UTC',
  });
  assert.deepEqual(load({ CADUCEUS_ALERT_HOURS: '22:30-06:15 America/New_York' }).monitoring.hours, {
    startMinute: 1350,
    endMinute: 375,
    timeZone: 'America/New_York',
  });
  for (const raw of [
    '7:00-19:00',
    '07:00-24:00',
    '07:00',
    '07:00-07:00',
    '07:00-19:00 Mars/Olympus',
    '07:00-19:00 UTC extra',
  ]) {
    assert.throws(
      () => load({ CADUCEUS_ALERT_HOURS: raw }),
      (error: Error) =>
        error.name === 'ConfigError' &&
        error.message.startsWith('CADUCEUS_ALERT_HOURS') &&
        !error.message.includes('Mars'),
      raw,
    );
  }
});

test('local time follows the zone and its daylight-saving changes', () => {
  const berlin = localMinuteOf('Europe/Berlin');
  assert.equal(berlin(Date.parse('2025-03-30T00:59:00Z')), 1 * 60 + 59, '01:59 CET');
  assert.equal(berlin(Date.parse('2025-03-30T01:00:00Z')), 3 * 60, '03:00 CEST');
  const kolkata = localMinuteOf('Asia/Kolkata');
  assert.equal(kolkata(Date.parse('2025-01-14T01:44:00Z')), 7 * 60 + 14, 'UTC+5:30');
  const day = { startMinute: 420, endMinute: 1140, timeZone: 'UTC' };
  assert.equal(withinHours(419, day), false);
  assert.equal(withinHours(420, day), true);
  assert.equal(withinHours(1139, day), true);
  assert.equal(withinHours(1140, day), false);
});

test('networks: /24 for IPv4 and mapped IPv4, /48 for IPv6; non-addresses have none', () => {
  assert.equal(networkOf('203.0.113.77'), '203.0.113.0/24');
  assert.equal(networkOf('::ffff:203.0.113.77'), '203.0.113.0/24');
  assert.equal(networkOf('2001:db8:abcd:12::1'), '2001:db8:abcd::/48');
  assert.equal(networkOf('::1'), '0:0:0::/48');
  assert.equal(networkOf('fe80::1%eth0'), 'fe80:0:0::/48');
  assert.equal(networkOf('not-an-address'), null);
  assert.equal(networkOf(null), null);
});
