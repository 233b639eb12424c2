/**
 * The login burst of bench/run.ts (bench/README.md "Login burst"): password
 * logins posted through the real sign-in form, at a fixed rate
 * (BENCH_LOGIN_RATE a second) or, with `flood`, each form again as soon as its last post was answered,
 * while autocannon measures API reads. Each login is a wrong password for an
 * existing user or an unknown username: both cost one argon2id hash
 * (docs/users.md, no user enumeration), so the burst loads the bounded
 * hashing queue, which must shed with 503 rather than slow the API.
 *
 * The burst runs in a child process (forked by `startLoginBurst`), so that
 * its own event loop never delays autocannon's and inflates the p99 it
 * reports; both still share the machine's CPUs with the server.
 */
import { execFileSync, fork } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';

/** Where the scenario's users and client are, and how hard to push. */
export interface LoginBurstTarget {
  /** https://127.0.0.1:PORT of the server. */
  readonly base: string;
  readonly clientId: string;
  readonly usernames: readonly string[];
  /** Sign-in forms open at once; a form posts one login at a time. */
  readonly connections: number;
  /** Logins a second, started on a fixed schedule whatever the answers; `flood`: each form posts again as soon as it is answered. */
  readonly rate: number | 'flood';
}

/** What the burst did while it ran. */
export interface LoginBurstResult {
  readonly seconds: number;
  /** Logins answered, per second, whatever the answer. */
  readonly rate: number;
  /** Logins checked and refused (401): one hash each. */
  readonly checked: number;
  /** Logins shed by the hashing queue (503 with Retry-After). */
  readonly shed: number;
  /** Any other answer, by status (429 would mean lockout or the auth rate limit reached the burst). */
  readonly other: Readonly<Record<string, number>>;
  /** Scheduled logins not sent because every form was still waiting for an answer (fixed rate only). */
  readonly missed: number;
  /** CPU the burst's own process used, in cores (1 = one core busy all along): taken from the machine the server runs on. */
  readonly cores: number;
}

/** The redirect URI of the scenario's client; nothing listens there, the burst never finishes a sign-in. */
const redirectUri = 'https://client.example/callback';

/**
 * Settings of both halves of the pair: lockout and the `auth` rate limit
 * set so high that every login reaches the hashing queue (the defaults would
 * lock the one source address within seconds and measure the limiter).
 */
export const loginBurstEnv: Readonly<Record<string, string>> = {
  CADUCEUS_LOCKOUT_ACCOUNT_FAILURES: '1000',
  CADUCEUS_LOCKOUT_IP_FAILURES: '100000',
};

/** The `auth` policy that lets the burst through, appended to the bench's generous limits. */
export const loginBurstAuthLimit = 'auth=1000000/1s';

/** Sign-in forms open at once: above the hashing concurrency (1 on 2 cores) plus queue (32), so a flood is shed by the queue. */
export const loginBurstConnections = Number(process.env.BENCH_LOGIN_CONNECTIONS ?? 48);

/**
 * Logins a second (BENCH_LOGIN_RATE, default 50): more than the hashing
 * budget checks on 2 cores (about 40 argon2id a second when quiet, 9 when
 * loaded), so the queue sheds some, as in a shift change or a
 * credential-stuffing run from many addresses. `flood` posts again the
 * moment each form is answered.
 */
export const loginBurstRate: number | 'flood' =
  process.env.BENCH_LOGIN_RATE === 'flood' ? 'flood' : Number(process.env.BENCH_LOGIN_RATE ?? 50);

/**
 * Connections of the pair's read load (BENCH_LOGIN_READ_CONNECTIONS,
 * default 4), each sending its next read when the last is answered: few
 * enough that the server answers with CPU to spare, so that the p99 measures
 * what the logins take from the reads. With the 64 connections of the
 * throughput scenarios the server is saturated and p99 is the length of
 * the queue of connections: any other work at all lengthens it. (autocannon's
 * fixed-rate mode sends each connection's requests of a second back to back,
 * so its p99 is that burst's.)
 */
export const loginReadConnections = Number(process.env.BENCH_LOGIN_READ_CONNECTIONS ?? 4);

/**
 * Creates the scenario's users and its public client with the operator
 * CLI, as an operator would (docs/users.md, docs/oauth.md).
 */
export function setupLoginUsers(
  root: string,
  dir: string,
  env: NodeJS.ProcessEnv,
  count = 4,
): { clientId: string; usernames: string[] } {
  const cli = path.join(root, 'dist/cli/main.js');
  const usernames: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const username = `bench.user${String(i)}`;
    // Password on stdin (docs/users.md); nobody ever types it, so it is random.
    execFileSync(process.execPath, [cli, 'user', 'create', '--username', username, '--role', 'clinician', '--json'], {
      cwd: dir,
      env,
      input: `${randomUUID()}-Bench\n`,
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    usernames.push(username);
  }
  const clientId = 'bench-login';
  execFileSync(
    process.execPath,
    [
      cli,
      'client',
      'create',
      '--name',
      'Bench login',
      '--role',
      'clinician',
      '--auth',
      'none',
      '--grant',
      'authorization_code',
      '--redirect-uri',
      redirectUri,
      '--scope',
      'openid user/*.rs',
      '--id',
      clientId,
      '--json',
    ],
    { cwd: dir, env, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return { clientId, usernames };
}

/** A running burst: `stop()` ends it and answers its counts; `end()` kills it if it is still running (after an error). */
export interface LoginBurst {
  stop(): Promise<LoginBurstResult>;
  end(): void;
}

/** Forks the burst and waits until every sign-in form is open. */
export async function startLoginBurst(target: LoginBurstTarget): Promise<LoginBurst> {
  const child = fork(import.meta.filename, [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = (): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => {
        reject(new Error(`login burst exited with ${String(code)}`));
      };
      child.once('exit', onExit);
      child.once('message', (message) => {
        child.off('exit', onExit);
        resolve(message);
      });
    });
  const ready = next();
  child.send(target);
  await ready;
  return {
    async stop() {
      const result = next();
      child.send('stop');
      return (await result) as LoginBurstResult;
    },
    end() {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    },
  };
}

/** The rounds of one scenario together: the median rate, every count summed. */
export function combineBursts(
  runs: readonly LoginBurstResult[],
  median: (values: readonly number[]) => number,
): LoginBurstResult {
  const other: Record<string, number> = {};
  for (const run of runs)
    for (const [status, count] of Object.entries(run.other)) other[status] = (other[status] ?? 0) + count;
  const sum = (pick: (run: LoginBurstResult) => number): number => runs.reduce((total, run) => total + pick(run), 0);
  return {
    seconds: sum((run) => run.seconds),
    rate: median(runs.map((run) => run.rate)),
    checked: sum((run) => run.checked),
    shed: sum((run) => run.shed),
    other,
    missed: sum((run) => run.missed),
    cores: median(runs.map((run) => run.cores)),
  };
}

/** The pair's figures: read req/s and p99 idle and during the burst, and what the burst did. */
export function printLoginBurst(
  idle: { rps: number; p99: number } | undefined,
  during: { rps: number; p99: number; burst?: LoginBurstResult } | undefined,
): void {
  if (during?.burst === undefined) return;
  const { burst } = during;
  const total = burst.checked + burst.shed + Object.values(burst.other).reduce((sum, count) => sum + count, 0);
  const pace =
    loginBurstRate === 'flood'
      ? 'a flood (each form again as soon as answered)'
      : `${String(loginBurstRate)} logins/s scheduled`;
  const ratios =
    idle === undefined
      ? ''
      : ` (p99 x${(during.p99 / idle.p99).toFixed(2)}, req/s x${(during.rps / idle.rps).toFixed(2)})`;
  console.log(
    `login burst (issue 3): read ${idle === undefined ? '(idle not run)' : `${String(Math.round(idle.rps))} req/s, p99 ${String(idle.p99)} ms idle`}; ` +
      `${String(Math.round(during.rps))} req/s, p99 ${String(during.p99)} ms during the burst${ratios}`,
  );
  console.log(
    `  burst: ${pace}, ${String(loginBurstConnections)} forms, ${burst.rate.toFixed(1)} logins/s answered; of ${String(total)} logins ${String(burst.checked)} checked (401, one hash each), ` +
      `${String(burst.shed)} shed with 503 (${((100 * burst.shed) / Math.max(1, total)).toFixed(1)}%)${Object.keys(burst.other).length > 0 ? `, other answers ${JSON.stringify(burst.other)}` : ''}` +
      (burst.missed > 0 ? `; ${String(burst.missed)} scheduled logins not sent, every form busy` : '') +
      `; the burst's own process used ${(100 * burst.cores).toFixed(0)} % of a core`,
  );
}

/** One sign-in form in a browser without JavaScript: its cookies and CSRF token. */
class Form {
  readonly #cookies = new Map<string, string>();
  #csrf = '';
  #uid = '';

  constructor(private readonly base: string) {}

  async #request(
    method: 'GET' | 'POST',
    url: string,
    body?: string,
  ): Promise<{ status: number; location: string; text: string }> {
    const cookie = [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(new URL(url, this.base), {
      method,
      redirect: 'manual',
      ...(body !== undefined && { body }),
      headers: {
        ...(cookie !== '' && { cookie }),
        ...(body !== undefined && { 'content-type': 'application/x-www-form-urlencoded' }),
      },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const index = pair.indexOf('=');
      this.#cookies.set(pair.slice(0, index), pair.slice(index + 1));
    }
    // The body is read in full, so the connection is reused.
    const text = await response.text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(text)?.[1];
    if (csrf !== undefined) this.#csrf = csrf;
    return { status: response.status, location: response.headers.get('location') ?? '', text };
  }

  /** An authorization request (code + PKCE S256) of the client, followed to its sign-in form. */
  async open(clientId: string): Promise<void> {
    const challenge = createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url');
    const query = new URLSearchParams({
      client_id: clientId,
      response_type: 'code',
      redirect_uri: redirectUri,
      scope: 'openid',
      state: randomUUID(),
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const authorize = await this.#request('GET', `/authorize?${query.toString()}`);
    // Only the path: the Location names the issuer's host, the burst talks to the address it was given.
    const location = new URL(authorize.location, this.base);
    this.#uid = /^\/interaction\/([^/]+)$/.exec(location.pathname)?.[1] ?? '';
    if (this.#uid === '') throw new Error(`/authorize answered ${String(authorize.status)} without a sign-in page`);
    const page = await this.#request('GET', `/interaction/${this.#uid}`);
    if (page.status !== 200 || this.#csrf === '') throw new Error(`sign-in page answered ${String(page.status)}`);
  }

  /** Posts one login; answers its status. */
  async login(username: string, password: string): Promise<number> {
    const body = new URLSearchParams({ username, password, csrf: this.#csrf }).toString();
    return (await this.#request('POST', `/interaction/${this.#uid}/login`, body)).status;
  }
}

/** The child: opens the forms, then posts logins until told to stop. */
async function runBurst(target: LoginBurstTarget, stopped: Promise<void>): Promise<LoginBurstResult> {
  const forms = await Promise.all(
    Array.from({ length: target.connections }, async () => {
      const form = new Form(target.base);
      await form.open(target.clientId);
      return form;
    }),
  );
  const counts = new Map<number, number>();
  let n = 0;
  const post = async (form: Form): Promise<void> => {
    n += 1;
    // Half wrong passwords of existing users, half unknown usernames (fresh ones, so no account lock builds up).
    const username = n % 2 === 0 ? target.usernames[n % target.usernames.length]! : `nobody.${String(n)}`;
    let status: number;
    try {
      status = await form.login(username, `wrong-${randomUUID()}`);
    } catch {
      status = 0;
    }
    counts.set(status, (counts.get(status) ?? 0) + 1);
  };
  process.send?.('ready');
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const missed =
    target.rate === 'flood' ? await flood(forms, post, stopped) : await paced(forms, post, stopped, target.rate);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const cores = (cpu.user + cpu.system) / 1e6 / seconds;
  const total = [...counts.values()].reduce((sum, count) => sum + count, 0);
  const other = Object.fromEntries(
    [...counts]
      .filter(([status]) => status !== 401 && status !== 503)
      .map(([status, count]) => [String(status), count]),
  );
  return {
    seconds,
    rate: total / seconds,
    checked: counts.get(401) ?? 0,
    shed: counts.get(503) ?? 0,
    other,
    missed,
    cores,
  };
}

/** Every form posts again as soon as it is answered, ignoring Retry-After. */
async function flood(
  forms: readonly Form[],
  post: (form: Form) => Promise<void>,
  stopped: Promise<void>,
): Promise<number> {
  let running = true;
  void stopped.then(() => {
    running = false;
  });
  await Promise.all(
    forms.map(async (form) => {
      while (running) await post(form);
    }),
  );
  return 0;
}

/**
 * Starts a login every 1/rate s on an idle form, on a schedule kept against
 * the clock (not against the answers, so a slow server is not sent fewer);
 * answers how many found every form busy.
 */
async function paced(
  forms: readonly Form[],
  post: (form: Form) => Promise<void>,
  stopped: Promise<void>,
  rate: number,
): Promise<number> {
  const idle = [...forms];
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  let sent = 0;
  let missed = 0;
  const tick = (): void => {
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    for (; sent < due; sent += 1) {
      const form = idle.pop();
      if (form === undefined) {
        missed += 1;
        continue;
      }
      const done = post(form).then(() => {
        idle.push(form);
        inFlight.delete(done);
      });
      inFlight.add(done);
    }
  };
  const timer = setInterval(tick, Math.max(1, Math.floor(1000 / rate)));
  await stopped;
  clearInterval(timer);
  await Promise.all(inFlight);
  return missed;
}

if (import.meta.filename === process.argv[1] && process.send !== undefined) {
  process.once('message', (target: LoginBurstTarget) => {
    const stopped = new Promise<void>((resolve) => {
      process.on('message', (message) => {
        if (message === 'stop') resolve();
      });
    });
    runBurst(target, stopped).then(
      (result) => {
        process.send?.(result, () => {
          process.disconnect();
        });
      },
      (error: unknown) => {
        console.error(`login burst: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  });
}
