import CircuitBreaker from 'opossum';
import type { Logger } from 'pino';
import { ApiError } from '../errors/index.js';
import type { SecurityEvents } from './security-events.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

/** How one dependency's breaker behaves. */
export interface BreakerOptions {
  /** The dependency, as metrics and events name it: `postgres`, `redis`, `key-manager`, `alert-webhook`. */
  readonly name: string;
  /** A call slower than this fails (and counts against the dependency). */
  readonly timeoutMs: number;
  /** How long the breaker stays open before letting one trial call through. */
  readonly resetMs: number;
  /** Failure percentage over the rolling window that opens the breaker (default 50). */
  readonly errorThresholdPercentage?: number;
  /** Calls in the window before the percentage counts (default 5). */
  readonly volumeThreshold?: number;
  /** Errors that say nothing about the dependency's health (a unique violation, a version conflict): not counted. */
  readonly isCallerError?: (error: unknown) => boolean;
}

/** A circuit breaker around one asynchronous dependency. */
export interface Breaker {
  readonly name: string;
  readonly state: BreakerState;
  /**
   * Runs the call through the breaker. While open, and when the call times
   * out, it rejects at once with 503 SERVICE_UNAVAILABLE and Retry-After
   * (an ApiError a route can let through; side paths catch it).
   */
  run<T>(call: () => Promise<T>): Promise<T>;
}

/** Every breaker of a process: created through it, listed for metrics, shut down together. */
export interface Breakers {
  create(options: BreakerOptions): Breaker;
  list(): readonly Breaker[];
  /** Subscribes to state changes (metrics); returns the unsubscribe function. */
  onStateChange(listener: (name: string, state: BreakerState) => void): () => void;
  shutdown(): void;
}

function stateOf(breaker: CircuitBreaker): BreakerState {
  if (breaker.opened) return 'open';
  return breaker.halfOpen ? 'half-open' : 'closed';
}

/**
 * Breakers on opossum (DESIGN.md gateway; seed: "circuit breakers for
 * dependent services"). State changes are security events, so monitoring
 * and metrics see a dependency fail and recover.
 */
export function createBreakers(events: SecurityEvents): Breakers {
  const all = new Map<string, { breaker: Breaker; inner: CircuitBreaker<[() => Promise<unknown>]> }>();
  const listeners = new Set<(name: string, state: BreakerState) => void>();

  function create(options: BreakerOptions): Breaker {
    if (all.has(options.name)) throw new Error(`breaker ${options.name} exists`);
    const inner = new CircuitBreaker((call: () => Promise<unknown>) => call(), {
      name: options.name,
      timeout: options.timeoutMs,
      resetTimeout: options.resetMs,
      errorThresholdPercentage: options.errorThresholdPercentage ?? 50,
      volumeThreshold: options.volumeThreshold ?? 5,
      errorFilter: (error: Error) => options.isCallerError?.(error) ?? false,
    });
    let openedAt = 0;
    const changed = (): void => {
      const state = stateOf(inner);
      if (state === 'open') openedAt = Date.now();
      events.emit({ kind: 'breaker.state_changed', details: { breaker: options.name, state } });
      for (const listener of listeners) listener(options.name, state);
    };
    inner.on('open', changed);
    inner.on('halfOpen', changed);
    inner.on('close', changed);
    const unavailable = (): ApiError => {
      const remainingMs = Math.max(0, openedAt + options.resetMs - Date.now());
      return new ApiError('SERVICE_UNAVAILABLE', undefined, {
        'Retry-After': String(Math.max(1, Math.ceil(remainingMs / 1000))),
      });
    };
    const breaker: Breaker = {
      name: options.name,
      get state() {
        return stateOf(inner);
      },
      async run<T>(call: () => Promise<T>): Promise<T> {
        try {
          return await (inner.fire(call) as Promise<T>);
        } catch (error) {
          // Only the breaker's own refusals (open, timeout) become 503; the dependency's errors pass through as they are.
          if (error instanceof Error && CircuitBreaker.isOurError(error)) throw unavailable();
          throw error;
        }
      },
    };
    all.set(options.name, { breaker, inner });
    return breaker;
  }

  return {
    create,
    list: () => [...all.values()].map((entry) => entry.breaker),
    onStateChange(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    shutdown() {
      for (const { inner } of all.values()) inner.shutdown();
    },
  };
}

/** The log lines of a {@link withLocalFallback}: when the shared dependency is lost, and when it is back. */
export interface FallbackEvents {
  readonly lost: { readonly event: string; readonly message: string };
  readonly restored: { readonly event: string; readonly message: string };
}

/**
 * Runs calls on a shared dependency through its breaker and, when one fails
 * or the breaker is open, hands the error to `fallback` (in-process state, or
 * a refusal). The loss and the recovery are each logged once, by error type.
 * Rate limits and monitoring state both share Redis this way.
 */
export function withLocalFallback(breaker: Breaker, logger: Logger, lines: FallbackEvents) {
  let degraded = false;
  return async function attempt<T>(shared: () => Promise<T>, fallback: (error: unknown) => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await breaker.run(shared);
    } catch (error) {
      if (!degraded) {
        degraded = true;
        logger.warn({ event: lines.lost.event, errorType: (error as Error).name }, lines.lost.message);
      }
      return fallback(error);
    }
    if (degraded) {
      degraded = false;
      logger.info({ event: lines.restored.event }, lines.restored.message);
    }
    return result;
  };
}
