/**
 * The steps a process opens, in order, and the one stack that closes them.
 * Each step registers its own close on a native AsyncDisposableStack the
 * moment it has opened, so teardown is the reverse of startup by
 * construction: after `stop()`, and equally when any step throws part-way.
 */
import { CaduceusError } from './errors/index.js';

/** What the composition root opens, in order (src/services.ts); the CLI runs the first ones. */
export const serviceSteps = [
  'logger',
  'fips-runtime',
  'breakers',
  'database',
  'migrate',
  'keys',
  'fips-policy',
  'key-protection',
  'search-tokenization',
  'audit-log',
  'refusal-counts',
  'monitoring',
  'rate-limits',
  'user-services',
  'authorization-server',
] as const;

/** What the server opens before the services: the TLS material, so that a bad certificate opens nothing. */
export const tlsSteps = ['tls', 'device-ca'] as const;

/** What the server opens after the services, in order (src/server.ts). */
export const listenerSteps = [
  'app',
  'listen',
  'mtls-listener',
  'tls-ticket-keys',
  'tls-reload',
  'rotation',
  'signals',
  'drain',
] as const;

/** Every step of a server's startup, in the order they run. */
export const serverSteps = [...tlsSteps, ...serviceSteps, ...listenerSteps] as const;

/** One named step of startup. */
export type StartupStep = (typeof serverSteps)[number];

/** Test hooks on startup: fail one step before it opens anything, or watch the steps go by. */
export interface StartupHooks {
  readonly failAt?: StartupStep;
  readonly onStep?: (step: StartupStep) => void;
}

/** The error a `failAt` hook raises, naming its step. */
export class StartupStepFailure extends CaduceusError {
  override readonly name = 'StartupStepFailure';
  readonly code = 'STARTUP_STEP_FAILED';
  readonly operatorSafe = true;
  constructor(readonly step: StartupStep) {
    super(`startup step ${step} failed (injected)`);
  }
}

/** The stack of one process's open resources and the way to add to it. */
export interface Startup {
  /** Closes everything opened so far, last opened first. */
  readonly stack: AsyncDisposableStack;
  /** Runs one step; its `close`, if given, is registered the moment the step has opened. */
  open<T>(step: StartupStep, open: () => T | Promise<T>, close?: (value: T) => unknown): Promise<T>;
}

/** A fresh, empty startup. */
export function createStartup(hooks: StartupHooks = {}): Startup {
  const stack = new AsyncDisposableStack();
  return {
    stack,
    async open(step, open, close) {
      hooks.onStep?.(step);
      if (hooks.failAt === step) throw new StartupStepFailure(step);
      const value = await open();
      if (close !== undefined)
        stack.defer(async () => {
          await close(value);
        });
      return value;
    },
  };
}

/**
 * Runs `body` on `startup`; when it throws, whatever it opened is closed in
 * reverse order and the original error is rethrown (a failure while closing
 * must not hide why startup failed).
 */
export async function openOrDispose<T>(startup: Startup, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    await startup.stack.disposeAsync().catch(() => undefined);
    throw error;
  }
}
