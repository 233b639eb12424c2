import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditEvent, harness, securityEvent, t0, times } from './harness.js';

const minute = 60_000;

test('failed_login_burst_ip: 19 refused bearer tokens from one address raise nothing, the 20th raises one alert', async () => {
  const h = harness();
  const failure = (index: number) =>
    auditEvent({
      subject: null,
      client: null,
      role: null,
      status: 401,
      authFailure: 'bad_signature',
      ip: '198.51.100.9',
      time: t0 + index,
    });
  await h.audit(...times(19, failure));
  assert.deepEqual(h.kinds(), []);
  await h.audit(failure(19), failure(20), failure(21));
  assert.deepEqual(h.kinds(), ['failed_login_burst_ip']);
  const [alert] = h.alerts;
  assert.equal(alert?.sourceIp, '198.51.100.9');
  assert.equal(alert.severity, 'high');
  assert.equal(alert.details.count, 20);
  assert.equal(alert.details.threshold, 20);
});

test('failed_login_burst_ip counts auth.failed login failures with bearer failures; 401s without a verifier reason do not count', async () => {
  const h = harness();
  await h.audit(...times(30, () => auditEvent({ subject: null, status: 401, ip: '198.51.100.9' })));
  assert.deepEqual(h.kinds(), [], 'a missing token is not a failed authentication');
  await h.audit(
    ...times(10, () => auditEvent({ subject: null, status: 401, authFailure: 'expired', ip: '198.51.100.9' })),
  );
  await h.security(...times(9, (i) => securityEvent('auth.failed', { subject: `someone-${i}`, ip: '198.51.100.9' })));
  assert.deepEqual(h.kinds(), []);
  await h.security(securityEvent('auth.failed', { subject: 'someone-else', ip: '198.51.100.9' }));
  assert.deepEqual(h.kinds(), ['failed_login_burst_ip']);
});

test('failed_login_burst_account: 4 failed logins for one account from scattered addresses raise nothing, the 5th raises', async () => {
  const h = harness();
  const failure = (index: number) => securityEvent('auth.failed', { subject: 'alice', ip: `192.0.2.${index + 1}` });
  await h.security(...times(4, failure));
  assert.deepEqual(h.kinds(), []);
  await h.security(failure(4));
  assert.deepEqual(h.kinds(), ['failed_login_burst_account']);
  assert.equal(h.alerts[0]?.subject, 'alice');
});

test('failed_login_burst_account: refused bearer tokens count against the subject they claim, never as its actor', async () => {
  const h = harness();
  const refused = (index: number) =>
    auditEvent({
      subject: null,
      status: 401,
      authFailure: 'bad_signature',
      claimedSubject: 'carol',
      ip: `192.0.2.${index + 1}`,
    });
  await h.audit(...times(4, refused));
  // Refusals that claim no usable subject do not count toward anyone.
  await h.audit(
    ...times(3, () => auditEvent({ subject: null, status: 401, authFailure: 'malformed', ip: '192.0.2.99' })),
  );
  assert.deepEqual(h.kinds(), []);
  await h.audit(refused(4));
  assert.deepEqual(h.kinds(), ['failed_login_burst_account']);
  assert.equal(h.alerts[0]?.subject, 'carol');
});

test('a window later, a new burst raises again; within the window, once only', async () => {
  const h = harness();
  const failure = (time: number) => securityEvent('auth.failed', { subject: 'bob', ip: '192.0.2.1', time });
  await h.security(...times(5, () => failure(t0)));
  await h.security(...times(5, () => failure(t0 + minute)));
  assert.deepEqual(h.kinds(), ['failed_login_burst_account']);
  await h.security(...times(5, () => failure(t0 + 11 * minute)));
  assert.deepEqual(h.kinds(), ['failed_login_burst_account', 'failed_login_burst_account']);
});

test('patient_snooping: 49 distinct patients raise nothing (repeats do not count), the 50th raises; no patient id in the alert', async () => {
  const h = harness();
  const ids = times(50, (i) => `patient-${i}-marker`);
  await h.audit(auditEvent({ subject: 'nosy', interaction: 'search', resultIds: ids.slice(0, 40) }));
  await h.audit(...ids.slice(40, 49).map((id) => auditEvent({ subject: 'nosy', resourceId: id })));
  await h.audit(...ids.slice(0, 10).map((id) => auditEvent({ subject: 'nosy', resourceId: id })));
  await h.audit(auditEvent({ subject: 'nosy', resourceId: ids[49]!, status: 403 }));
  assert.deepEqual(
    h.kinds().filter((kind) => kind === 'patient_snooping'),
    [],
  );
  await h.audit(auditEvent({ subject: 'nosy', resourceId: ids[49]! }));
  const snooping = h.alerts.filter((alert) => alert.kind === 'patient_snooping');
  assert.equal(snooping.length, 1);
  assert.equal(snooping[0]?.subject, 'nosy');
  assert.equal(snooping[0].details.count, 50);
  assert.ok(!JSON.stringify(h.alerts).includes('marker'), 'patient ids stay out of alerts');
});

test('bulk_read: 999 records returned to one user raise nothing, the 1000th raises (any resource type)', async () => {
  const h = harness();
  const page = (n: number, offset: number) =>
    auditEvent({
      subject: 'reader',
      interaction: 'search',
      resourceType: 'Observation',
      resultIds: times(n, (i) => `obs-${offset + i}`),
    });
  await h.audit(
    ...times(9, (i) => page(100, i * 100)),
    page(98, 900),
    auditEvent({ subject: 'reader', resourceType: 'Observation', resourceId: 'obs-x' }),
  );
  await h.audit(
    auditEvent({
      subject: 'reader',
      interaction: 'search',
      resourceType: 'Observation',
      status: 400,
      resultIds: ['a', 'b'],
    }),
  );
  assert.deepEqual(h.kinds(), []);
  await h.audit(
    auditEvent({ subject: 'reader', interaction: 'vread', resourceType: 'Observation', resourceId: 'obs-y' }),
  );
  assert.deepEqual(h.kinds(), ['bulk_read']);
  assert.equal(h.alerts[0]?.details.count, 1000);
});

test('off_hours_access: 06:59 in Berlin (winter and summer time) raises, 07:00 and 18:59 do not, 19:00 does', async () => {
  const hours = '07:00-19:00 Europe/Berlin';
  const at = async (iso: string, subject: string): Promise<string[]> => {
    const h = harness({ hours });
    await h.audit(auditEvent({ subject, time: Date.parse(iso) }));
    return h.kinds();
  };
  assert.deepEqual(await at('2025-01-14T05:59:00Z', 'a'), ['off_hours_access'], '06:59 CET');
  assert.deepEqual(await at('2025-01-14T06:00:00Z', 'a'), [], '07:00 CET');
  assert.deepEqual(await at('2025-07-15T04:59:59Z', 'a'), ['off_hours_access'], '06:59:59 CEST');
  assert.deepEqual(await at('2025-07-15T05:00:00Z', 'a'), [], '07:00 CEST');
  assert.deepEqual(await at('2025-07-15T16:59:00Z', 'a'), [], '18:59 CEST');
  assert.deepEqual(await at('2025-07-15T17:00:00Z', 'a'), ['off_hours_access'], '19:00 CEST');
});

test('off_hours_access: once per user per window, not for refused tokens, and off without working hours', async () => {
  const night = Date.parse('2025-01-14T23:30:00Z');
  const h = harness({ hours: '22:00-06:00' });
  await h.audit(auditEvent({ subject: 'owl', time: night }));
  assert.deepEqual(h.kinds(), [], 'a night shift crossing midnight is working time');
  const day = harness({ hours: '07:00-19:00' });
  await day.audit(auditEvent({ subject: 'owl', time: night }), auditEvent({ subject: 'owl', time: night + minute }));
  await day.audit(auditEvent({ subject: null, status: 401, authFailure: 'expired', time: night }));
  assert.deepEqual(day.kinds(), ['off_hours_access']);
  const none = harness();
  await none.audit(auditEvent({ subject: 'owl', time: night }));
  assert.deepEqual(none.kinds(), []);
});

test('new_network: first network is the baseline, same /24 is not new, another /24 raises; IPv6 by /48', async () => {
  const h = harness();
  const from = (ip: string, client = 'app-1') => auditEvent({ subject: 'roamer', client, ip });
  await h.audit(from('203.0.113.5'));
  await h.audit(from('203.0.113.200'), from('::ffff:203.0.113.9'));
  assert.deepEqual(h.kinds(), []);
  await h.audit(from('198.51.100.7'));
  assert.deepEqual(h.kinds(), ['new_network']);
  assert.equal(h.alerts[0]?.details.network, '198.51.100.0/24');
  const v6 = harness();
  await v6.audit(from('2001:db8:1::1'), from('2001:db8:1:ffff::2'), from('2001:db8:2::1', 'other-app'));
  assert.deepEqual(v6.kinds(), [], 'same /48, and another client has its own baseline');
  await v6.audit(from('2001:db8:2::1'));
  assert.deepEqual(v6.kinds(), ['new_network']);
  assert.equal(v6.alerts[0]?.details.network, '2001:db8:2::/48');
});

test("repeated_forbidden: 9 403s from one user raise nothing, the 10th raises one alert (the user's, not also the address's)", async () => {
  const h = harness();
  await h.audit(...times(9, () => auditEvent({ subject: 'prober', status: 403 })));
  assert.deepEqual(h.kinds(), []);
  await h.audit(...times(5, () => auditEvent({ subject: 'prober', status: 403 })));
  assert.deepEqual(h.kinds(), ['repeated_forbidden']);
  assert.equal(h.alerts[0]?.subject, 'prober');
});

test('repeated_forbidden per address: edge refusals with FORBIDDEN and 403s spread over users', async () => {
  const h = harness();
  await h.security(
    ...times(9, () =>
      securityEvent('edge.refused', { ip: '192.0.2.66', details: { rule: 'deny_list', code: 'FORBIDDEN' } }),
    ),
  );
  await h.security(
    ...times(5, () =>
      securityEvent('edge.refused', { ip: '192.0.2.66', details: { rule: 'url_length', code: 'URI_TOO_LONG' } }),
    ),
  );
  assert.deepEqual(h.kinds(), []);
  await h.audit(auditEvent({ subject: 'someone', status: 403, ip: '192.0.2.66' }));
  assert.deepEqual(h.kinds(), ['repeated_forbidden']);
  assert.equal(h.alerts[0]?.subject, null);
  assert.equal(h.alerts[0].sourceIp, '192.0.2.66');
});

test('rate_limit_storm: 99 rate-limit refusals raise nothing, the 100th raises', async () => {
  const h = harness();
  await h.security(...times(99, (i) => securityEvent('rate_limit.exceeded', { ip: `192.0.2.${i % 200}` })));
  assert.deepEqual(h.kinds(), []);
  await h.security(securityEvent('rate_limit.exceeded', { ip: '192.0.2.1' }));
  assert.deepEqual(h.kinds(), ['rate_limit_storm']);
});

test('integrity_error: every integrity error is a critical alert at once', async () => {
  const h = harness();
  await h.security(securityEvent('integrity.error', { details: { code: 'SEAL_INVALID' } }));
  assert.deepEqual(h.kinds(), ['integrity_error']);
  assert.equal(h.alerts[0]?.severity, 'critical');
  await h.security(securityEvent('integrity.error', { details: { code: 'SEAL_INVALID' } }));
  assert.equal(h.alerts.length, 2);
});

test('breaker_open: an opening raises once per breaker per window; other states do not', async () => {
  const h = harness();
  const change = (breaker: string, state: string) =>
    securityEvent('breaker.state_changed', { details: { breaker, state } });
  await h.security(change('postgres', 'half-open'), change('postgres', 'closed'));
  assert.deepEqual(h.kinds(), []);
  await h.security(change('postgres', 'open'), change('postgres', 'open'), change('alert-webhook', 'open'));
  assert.deepEqual(h.alerts.map((alert) => alert.details.breaker).sort(), ['alert-webhook', 'postgres']);
});

test('CADUCEUS_ALERT_RULES tunes thresholds and turns rules off', async () => {
  const tuned = harness({ rules: 'repeated_forbidden=3/1m,integrity_error=off' });
  await tuned.audit(...times(2, () => auditEvent({ subject: 'p', status: 403 })));
  await tuned.security(securityEvent('integrity.error'));
  assert.deepEqual(tuned.kinds(), []);
  await tuned.audit(auditEvent({ subject: 'p', status: 403 }));
  assert.deepEqual(tuned.kinds(), ['repeated_forbidden']);
  const off = harness({ rules: 'repeated_forbidden=off' });
  await off.audit(...times(20, () => auditEvent({ subject: 'p', status: 403 })));
  assert.deepEqual(off.kinds(), []);
});

test('a failing sink does not stop the others, and the detector never throws', async () => {
  const broken = {
    name: 'broken',
    deliver: () => Promise.reject(new Error('down at https://hook.example/secret?token=x')),
  };
  const throwing = {
    name: 'throwing',
    deliver: (): Promise<void> => {
      throw new Error('sync failure');
    },
  };
  const h = harness({ sinks: [broken, throwing] });
  await h.security(securityEvent('integrity.error'));
  assert.deepEqual(h.kinds(), ['integrity_error']);
});

test('a failing state store fails no caller: the rule error is logged and the next event is processed', async () => {
  const failing = {
    count: () => Promise.reject(new Error('x')),
    distinct: () => Promise.reject(new Error('x')),
    claim: () => Promise.reject(new Error('x')),
  };
  const h = harness({ state: failing });
  assert.doesNotThrow(() => {
    h.detector.onAudit(auditEvent({ status: 403 }));
  });
  await h.detector.settled();
  await h.security(securityEvent('integrity.error'));
  assert.deepEqual(h.kinds(), ['integrity_error']);
});
