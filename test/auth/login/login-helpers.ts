import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type { TestContext } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import { registerLoginPages } from '../../../src/auth/login/index.js';
import {
  InteractionNotFoundError,
  type AuthorizationServer,
  type InteractionDetails,
  type LoginResult,
} from '../../../src/auth/oidc/facade.js';
import { createUserServices, type UserServices } from '../../../src/auth/users/index.js';
import type { AuditEvent } from '../../../src/audit/event.js';
import type { Sealer } from '../../../src/keys/ports.js';
import { openKeyProtection } from '../../../src/keys/envelope/index.js';
import { resolveMasterKey } from '../../../src/keys/local/index.js';
import { pino } from 'pino';
import { build, type TestApp } from '../../helpers/app.js';

/** The interaction cookie of the test authorization server (oidc-provider's is `_interaction`, path-scoped). */
const interactionCookie = 'test_interaction';

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === name) return value;
  }
  return undefined;
}

/**
 * A stand-in for the oidc core while the page tests run alone: it reads the
 * interaction from a cookie, as oidc-provider does, and records each
 * finished login. The real provider is driven in the browser test.
 */
export function testAuthorizationServer(options: { readonly acrValues?: readonly string[] } = {}) {
  const finished: { uid: string; result: LoginResult }[] = [];
  /** Interactions that expire before they are finished. */
  const expired = new Set<string>();
  const server: AuthorizationServer = {
    interactionDetails(req) {
      const uid = cookieValue(req, interactionCookie);
      if (uid === undefined) return Promise.reject(new InteractionNotFoundError('no interaction'));
      const details: InteractionDetails = {
        uid,
        prompt: 'login',
        reasons: ['no_session'],
        clientId: 'test-app',
        clientName: 'Test <App> "quoted"',
        scopes: ['openid'],
        accountId: null,
        acrValues: options.acrValues ?? [],
        loginHint: null,
      };
      return Promise.resolve(details);
    },
    finishInteraction(req, _res, result) {
      const uid = cookieValue(req, interactionCookie) ?? '';
      if (expired.has(uid)) return Promise.reject(new InteractionNotFoundError('expired'));
      finished.push({ uid, result });
      return Promise.resolve({ redirectTo: `https://client.example/callback?done=${uid}` });
    },
    abortInteraction() {
      return Promise.resolve({ redirectTo: 'https://client.example/callback?error=access_denied' });
    },
  };
  return { server, finished, expired };
}

/** The real app (SQLite, envelope sealer, audit log) with the login pages and real user services. */
export interface LoginApp extends TestApp {
  readonly users: UserServices;
  readonly finished: { uid: string; result: LoginResult }[];
  readonly sealer: Sealer;
  /** Uids whose interaction expires before it is finished. */
  readonly expired: Set<string>;
  /** Moves the pages' clock (session timeouts). */
  advance(ms: number): void;
}

export async function buildLoginApp(
  t: TestContext,
  options: { readonly env?: Record<string, string>; readonly acrValues?: readonly string[] } = {},
): Promise<LoginApp> {
  // The envelope sealer the server would use (docs/key-management.md), opened here so the pages get the same one.
  let sealer: Sealer | undefined;
  const app = await build(t, {
    env: {
      CADUCEUS_RATE_LIMIT: 'auth=6000/1m:1000',
      CADUCEUS_ARGON2_MEMORY_KIB: '8192',
      CADUCEUS_ARGON2_TIME_COST: '1',
      // No CPU budget: a loaded test machine stretches hash times, and these tests are not about shedding (hash-shedding.test.ts is).
      CADUCEUS_PASSWORD_HASH_CPU_PERCENT: '0',
      ...options.env,
    },
    // These pages are mounted below, on a stand-in authorization server.
    dependencies: (deps) => ({ ...deps, users: undefined }),
    sealer: async ({ db, config, breakers }) => {
      const logger = pino({ level: 'silent' });
      const masterKey = (await resolveMasterKey({ ...config.keys.masterKey, production: false }, logger)).key;
      const protection = await openKeyProtection(config, { masterKey, dataKeys: db.dataKeys, breakers, logger });
      t.after(() => protection.close());
      sealer = protection.sealer;
      return sealer;
    },
  });
  if (sealer === undefined) throw new Error('no sealer');
  const users = createUserServices({ settings: app.config.users, fips: false, db: app.db });
  const { server, finished, expired } = testAuthorizationServer(options);
  let offset = 0;
  await registerLoginPages(app.app, {
    authorizationServer: server,
    users: users.directory,
    factors: app.db.mfaFactors,
    kv: app.db.kv,
    sealer,
    audit: app.audit,
    events: app.events,
    config: app.config.login,
    now: () => Date.now() + offset,
  });
  return {
    ...app,
    users,
    finished,
    expired,
    sealer,
    advance: (ms) => {
      offset += ms;
    },
  };
}

/** One browser: its cookies (login binding and interaction), and the last CSRF token a page gave it. */
export class Browser {
  readonly #app: LoginApp;
  readonly cookies = new Map<string, string>();
  csrf = '';
  uid: string;

  constructor(app: LoginApp, uid: string) {
    this.#app = app;
    this.uid = uid;
    this.cookies.set(interactionCookie, uid);
  }

  #cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  #remember(response: { headers: Record<string, unknown>; body: string }): void {
    const setCookie = response.headers['set-cookie'];
    for (const line of Array.isArray(setCookie)
      ? (setCookie as string[])
      : typeof setCookie === 'string'
        ? [setCookie]
        : []) {
      const [pair = ''] = line.split(';');
      const [name = '', value = ''] = pair.split('=', 2);
      this.cookies.set(name, value);
    }
    const csrf = /name="csrf" value="([^"]+)"/.exec(response.body)?.[1];
    if (csrf !== undefined) this.csrf = csrf;
  }

  async get(path: string) {
    const response = await this.#app.app.inject({
      method: 'GET',
      url: path,
      headers: { cookie: this.#cookieHeader() },
    });
    this.#remember(response);
    return response;
  }

  /** A form POST; `csrf` defaults to the last token seen (pass null to leave it out). */
  async post(path: string, fields: Record<string, string>, csrf: string | null = this.csrf) {
    const form = new URLSearchParams({ ...fields, ...(csrf !== null && { csrf }) });
    const response = await this.#app.app.inject({
      method: 'POST',
      url: path,
      payload: form.toString(),
      headers: { cookie: this.#cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
    });
    this.#remember(response);
    return response;
  }

  /** Opens the login page and submits the password; returns the POST's response. */
  async login(username: string, password: string) {
    const page = await this.get(`/interaction/${this.uid}`);
    assert.equal(page.statusCode, 200);
    return this.post(`/interaction/${this.uid}/login`, { username, password });
  }
}

/** A TOTP code of a seed shown on the enrolment page, `steps` periods from now. */
export function totpCode(secret: string, steps = 0): string {
  const totp = new TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret: Secret.fromBase32(secret) });
  return totp.generate({ timestamp: Date.now() + steps * 30_000 });
}

/** Every audit event the app recorded (its own writer), oldest first. */
export async function auditEvents(app: TestApp): Promise<AuditEvent[]> {
  const rows = await app.db.audit.read({ writerId: app.audit.writerId, limit: 10_000 });
  return rows.filter((row) => row.kind === 'event').map((row) => JSON.parse(row.payload) as AuditEvent);
}

/** Checks a page carries no inline script or style and no event-handler attributes. */
export function assertNoInlineScript(body: string): void {
  for (const tag of body.match(/<script\b[^>]*>/g) ?? [])
    assert.match(tag, /\bsrc="\/assets\/login\/[a-z-]+\.js"/, `inline script: ${tag}`);
  assert.doesNotMatch(body, /<script\b[^>]*>[^<\s]/, 'script element with a body');
  assert.doesNotMatch(body, /\son[a-z]+\s*=/i, 'event-handler attribute');
  assert.doesNotMatch(body, /<style\b|\sstyle\s*=/i, 'inline style');
  assert.doesNotMatch(body, /javascript:/i);
}
