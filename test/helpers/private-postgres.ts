import { execFile } from 'node:child_process';
import { chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { freeLoopbackPort } from './ports.js';

const run = promisify(execFile);

/** A PostgreSQL cluster of the test's own (its own folder and port), which the test may stop and start. */
export interface PrivatePostgres {
  readonly url: string;
  /** `pg_ctl stop -m MODE`: waits until the server is down. */
  stop(mode: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same folder and port. */
  start(): Promise<void>;
}

/** The newest installed server's bin folder (Debian: /usr/lib/postgresql/VERSION/bin), or undefined. */
async function postgresBinDir(): Promise<string | undefined> {
  const root = '/usr/lib/postgresql';
  const versions = await readdir(root).catch(() => []);
  const newest = versions.filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a))[0];
  return newest === undefined ? undefined : path.join(root, newest, 'bin');
}

/**
 * The `skip` option of a private-cluster test: false when initdb and pg_ctl
 * are installed, or under CI=true (the test then runs and fails).
 */
export async function privatePostgresSkip(): Promise<string | false> {
  if (process.env.CI === 'true' || (await postgresBinDir()) !== undefined) return false;
  return 'PostgreSQL server binaries are not installed; skipped outside CI (CI=true makes this a failure)';
}

/** The uid and gid of the `postgres` account: PostgreSQL refuses to run as root. */
async function postgresAccount(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * Creates and starts a throwaway cluster on a free loopback port (trust
 * authentication, no fsync: nothing in it outlives the test), as the
 * `postgres` account when this process runs as root. Stopped and removed
 * after the test; never the shared cluster on 5432.
 */
export async function startPrivatePostgres(t: TestContext): Promise<PrivatePostgres> {
  const bin = await postgresBinDir();
  if (bin === undefined) throw new Error('PostgreSQL server binaries are not installed (Debian: postgresql)');
  const dir = await mkdtemp(path.join(tmpdir(), 'caduceus-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { uid, gid } = await postgresAccount();
    await chown(dir, uid, gid);
  }
  const pgctl = async (args: readonly string[]): Promise<void> => {
    const command = [path.join(bin, 'pg_ctl'), ...args];
    if (asRoot) await run('runuser', ['-u', 'postgres', '--', ...command]);
    else await run(command[0] ?? '', command.slice(1));
  };
  const data = path.join(dir, 'data');
  const port = await freeLoopbackPort();
  const options = `-p ${String(port)} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off`;
  await pgctl(['initdb', '-D', data, '-s', '-o', '--auth=trust --username=postgres --no-sync']);
  const start = (): Promise<void> =>
    pgctl(['start', '-D', data, '-w', '-s', '-l', path.join(dir, 'log'), '-o', options]);
  const stop = (mode: 'fast' | 'immediate'): Promise<void> => pgctl(['stop', '-D', data, '-w', '-s', '-m', mode]);
  await start();
  t.after(async () => {
    await stop('immediate').catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  return { url: `postgres://postgres@127.0.0.1:${String(port)}/postgres`, stop, start };
}
