/**
 * The scenario of phi-scan.test.ts: a real server process writes, updates and
 * searches Patients carrying unique marker values over HTTPS; the caller then
 * scans the raw bytes the database left (SQLite files, or a pg_dump) and the
 * server's log lines for every form of every marker (docs/blind-indexes.md).
 */
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import type { TestContext } from 'node:test';
import { normalizeText } from '../../src/resources/search/normalize.js';
import {
  caduceusEnv,
  httpsRequest,
  processScope,
  signToken,
  spawnServer,
  type ProcessScope,
  type ServerProcess,
} from '../helpers/process.js';

/** One marker: its label and the raw value written. */
export interface Marker {
  readonly label: string;
  readonly value: string;
}

/** Lowercase letters only: a 12-letter word cannot turn up by chance in ciphertext, hex or base64 (64^-12). */
function word(): string {
  return Array.from({ length: 12 }, () => String.fromCharCode(97 + randomInt(26))).join('');
}

/** Markers for one patient: accented names so that every normalization step gives a different form. */
export function patientMarkers(): Marker[] {
  const year = 1900 + randomInt(40);
  const month = String(1 + randomInt(12)).padStart(2, '0');
  const day = String(10 + randomInt(18));
  return [
    { label: 'family', value: `Ñúñez${word().toUpperCase()}` },
    { label: 'given', value: `Zoë${word()}` },
    { label: 'identifier', value: `MRN-${randomBytes(8).toString('hex')}` },
    { label: 'birthDate', value: `${String(year)}-${month}-${day}` },
    { label: 'address', value: `Calle ${word()}` },
    { label: 'city', value: `Ciudad${word()}` },
    { label: 'email', value: `${word()}@example.org` },
    { label: 'phone', value: `+1 (555) 01${String(randomInt(10))}-${String(1000 + randomInt(9000))}` },
  ];
}

function valueOf(markers: readonly Marker[], label: string): string {
  const found = markers.find((m) => m.label === label);
  if (found === undefined) throw new Error(`no ${label} marker`);
  return found.value;
}

/** The Patient body of a marker set. */
export function patientBody(markers: readonly Marker[]): string {
  return JSON.stringify({
    resourceType: 'Patient',
    identifier: [{ system: 'https://example.org/mrn', value: valueOf(markers, 'identifier') }],
    name: [{ family: valueOf(markers, 'family'), given: [valueOf(markers, 'given')] }],
    telecom: [
      { system: 'phone', value: valueOf(markers, 'phone') },
      { system: 'email', value: valueOf(markers, 'email') },
    ],
    gender: 'female',
    birthDate: valueOf(markers, 'birthDate'),
    address: [{ line: [valueOf(markers, 'address')], city: valueOf(markers, 'city') }],
  });
}

/**
 * Every form a marker could be stored in: as written, lowercased,
 * accent-stripped, normalized as the plain tokenizer does, and each of those
 * hex-encoded (pg_dump prints bytea as hex). Birth dates also as the plain
 * tokenizer's year and month tokens (a bare year is too short to scan for).
 */
export function formsOf(marker: Marker): string[] {
  const stripped = marker.value.normalize('NFKD').replace(/\p{M}+/gu, '');
  const text = [
    marker.value,
    marker.value.toLowerCase(),
    stripped,
    stripped.toLowerCase(),
    normalizeText(marker.value),
  ];
  if (marker.label === 'birthDate') text.push(`y:${marker.value.slice(0, 4)}`, `m:${marker.value.slice(0, 7)}`);
  const unique = [...new Set(text.filter((form) => form.length >= 8))];
  return [...unique, ...unique.map((form) => Buffer.from(form, 'utf8').toString('hex'))];
}

/** The markers (label and form) found in `haystack`. */
export function findMarkers(haystack: Buffer, markers: readonly Marker[]): string[] {
  const found: string[] = [];
  for (const marker of markers) {
    for (const form of formsOf(marker)) {
      if (haystack.includes(Buffer.from(form, 'utf8'))) found.push(`${marker.label}: ${form}`);
    }
  }
  return found;
}

/** A finished scenario: the running server (stopped after the test) and what it was given. */
export interface ScenarioRun {
  readonly scope: ProcessScope;
  readonly server: ServerProcess;
  readonly markers: readonly Marker[];
}

/**
 * Starts the server on `env`, creates three marked Patients, updates one (so
 * a historical version exists) and searches each by every indexed marker;
 * every search must find its patient, with encryption on or off.
 */
export async function runScenario(t: TestContext, env: Readonly<Record<string, string>>): Promise<ScenarioRun> {
  const scope = await processScope(t, 'caduceus-phi-');
  const fullEnv = caduceusEnv(scope.dir, { CADUCEUS_LOG_LEVEL: 'trace', ...env });
  const server = await spawnServer(scope, fullEnv);
  const token = await signToken(server.config, 'admin');
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' };
  const markers: Marker[] = [];
  const patients: { id: string; markers: Marker[] }[] = [];
  for (let i = 0; i < 3; i += 1) {
    const set = patientMarkers();
    const created = await httpsRequest(`${server.url}/api/v1/patients`, server.ca, {
      method: 'POST',
      headers,
      body: patientBody(set),
    });
    assert.equal(created.status, 201, created.body);
    patients.push({ id: (JSON.parse(created.body) as { id: string }).id, markers: set });
    markers.push(...set.map((m) => ({ label: `${m.label}#${String(i)}`, value: m.value })));
  }
  const first = patients[0];
  assert.ok(first !== undefined);
  // An update: the first version stays in the history, sealed as well.
  const updated = await httpsRequest(`${server.url}/api/v1/patients/${first.id}`, server.ca, {
    method: 'PUT',
    headers,
    body: JSON.stringify({ ...(JSON.parse(patientBody(first.markers)) as object), id: first.id, active: true }),
  });
  assert.equal(updated.status, 200, updated.body);
  for (const { id, markers: set } of patients) {
    const family = valueOf(set, 'family');
    const queries = {
      // A prefix search: every family marker starts with Ñúñez, so the prefix reaches into the random letters far enough (7) that two patients never share it.
      family: normalizeText(family).slice(0, 12),
      given: valueOf(set, 'given').toUpperCase(),
      identifier: `https://example.org/mrn|${valueOf(set, 'identifier')}`,
      birthdate: valueOf(set, 'birthDate').slice(0, 7),
      name: family,
    };
    for (const [param, value] of Object.entries(queries)) {
      const search = await httpsRequest(
        `${server.url}/api/v1/patients?${new URLSearchParams({ [param]: value }).toString()}`,
        server.ca,
        { headers },
      );
      assert.equal(search.status, 200, search.body);
      const ids = (JSON.parse(search.body) as { entry: { resource: { id: string } }[] }).entry.map(
        (e) => e.resource.id,
      );
      assert.deepEqual(ids, [id], `search by ${param}`);
    }
  }
  return { scope, server, markers };
}

/** Stops the server process (SIGTERM) and waits until it has exited. */
export async function stopServer(run: ScenarioRun): Promise<void> {
  run.server.child.kill('SIGTERM');
  const exit = await run.server.exited;
  assert.equal(exit.code, 0, run.server.stderr());
}
