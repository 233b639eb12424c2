/**
 * An operator's `sqlite3` against a live server's audit file: the server must
 * keep its POSIX lock on the file (closing any second descriptor of it drops
 * every lock the process holds), or the outside reader's close believes it is
 * the last connection, checkpoints and deletes the live WAL, and events the
 * server acknowledged stop being visible to every other process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, readdir, readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  caduceusEnv,
  httpsRequest,
  processScope,
  signToken,
  spawnServer,
  type ServerProcess,
} from '../helpers/process.js';

const run = promisify(execFile);

/** The sqlite3 command-line shell, as an operator would run it. */
async function sqlite3(file: string, command: string): Promise<string> {
  const { stdout } = await run('sqlite3', [file, command]);
  return stdout.trim();
}

/** True when /proc/locks lists a lock of `pid` on the file's inode. */
async function holdsLock(pid: number, file: string): Promise<boolean> {
  const { ino } = await stat(file);
  const locks = await readFile('/proc/locks', 'utf8');
  return locks.split('\n').some((line) => {
    const fields = line.trim().split(/\s+/);
    return fields[4] === String(pid) && fields[5]?.endsWith(`:${String(ino)}`) === true;
  });
}

/** The server's open descriptors that point at a deleted file. */
async function deletedDescriptors(pid: number): Promise<string[]> {
  const dir = `/proc/${String(pid)}/fd`;
  const targets = await Promise.all((await readdir(dir)).map((fd) => readlink(path.join(dir, fd)).catch(() => '')));
  return targets.filter((target) => target.endsWith('(deleted)'));
}

/** Creates `count` patients; returns the request id of each acknowledged (201) create. */
async function createPatients(server: ServerProcess, token: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const created = await httpsRequest(`${server.url}/api/v1/patients`, server.ca, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', name: [{ family: `Reader${String(i)}` }] }),
    });
    assert.equal(created.status, 201, created.body);
    ids.push(String(created.headers['x-request-id']));
  }
  return ids;
}

test(
  'an outside sqlite3 reader and .backup of the live audit file lose no acknowledged event',
  { skip: process.platform !== 'linux' && '/proc/locks is Linux-only' },
  async (t) => {
    const scope = await processScope(t);
    const env = caduceusEnv(scope.dir, { CADUCEUS_RATE_LIMIT: 'off', CADUCEUS_LOG_LEVEL: 'info' });
    const server = await spawnServer(scope, env);
    const pid = server.child.pid;
    assert.ok(pid !== undefined);
    const auditFile = path.join(scope.dir, 'caduceus-audit.db');
    const token = await signToken(server.config, 'clinician');

    const acknowledged = await createPatients(server, token, 20);
    assert.equal(await holdsLock(pid, auditFile), true, 'the server holds no lock on its audit file');

    // What an operator does while the server runs: a count, then an online backup; each opens and closes the file.
    assert.match(await sqlite3(auditFile, 'select count(*) from audit_log'), /^\d+$/);
    await sqlite3(auditFile, `.backup ${path.join(scope.dir, 'backup.db')}`);
    acknowledged.push(...(await createPatients(server, token, 20)));
    await sqlite3(auditFile, 'select count(*) from audit_log');

    assert.equal(await holdsLock(pid, auditFile), true, "the outside reader took the server's lock away");
    assert.deepEqual(await deletedDescriptors(pid), [], 'the server writes to a deleted file');
    // Every acknowledged create's event is visible to another process, now.
    const payloads = await sqlite3(auditFile, 'select payload from audit_log');
    const missing = acknowledged.filter((requestId) => !payloads.includes(requestId));
    assert.deepEqual(
      missing,
      [],
      `${String(missing.length)} of ${String(acknowledged.length)} acknowledged events are invisible outside the server`,
    );
  },
);
