import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';
import {
  placeSteps,
  requestPipeline,
  type ErrorRun,
  type PipelinePhase,
  type PipelineStep,
  type PlacedStep,
  type RequestRun,
  type SendRun,
} from './pipeline.js';

/** What the layers see of the pipeline: where to add their steps, and the result once the app is ready. */
export interface RequestPipeline {
  /** Adds a step; it runs at its declared place (src/http/pipeline.ts), whatever the order of calls. */
  add(step: PipelineStep): void;
  /** The steps in run order; empty until the app is ready. */
  steps(): readonly PlacedStep[];
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The one ordered request pipeline (src/http/pipeline.ts). */
    pipeline: RequestPipeline;
  }
}

type Done = HookHandlerDoneFunction;

/**
 * Runs a phase's steps in order, stopping at the first that refuses (throws)
 * or, before the response, answers (sends); onResponse steps all run.
 */
function requestHook(steps: readonly RequestRun[], phase: 'request' | 'response') {
  const stopWhenAnswered = phase === 'request';
  return function runSteps(request: FastifyRequest, reply: FastifyReply, done: Done): void {
    const from = (start: number): void => {
      for (let index = start; index < steps.length; index++) {
        // An answered request goes no further, as Fastify's own hook runner does.
        if (stopWhenAnswered && reply.sent) return;
        const step = steps[index];
        if (step === undefined) break;
        let pending: void | Promise<void>;
        try {
          pending = step(request, reply);
        } catch (error) {
          done(error as Error);
          return;
        }
        // Synchronous steps stay synchronous: only a step that waits costs a promise.
        if (pending !== undefined) {
          pending.then(() => {
            from(index + 1);
          }, done);
          return;
        }
      }
      if (!stopWhenAnswered || !reply.sent) done();
    };
    from(0);
  };
}

/** Runs the onSend steps, each given the payload the one before it returned. */
function sendHook(steps: readonly SendRun[]) {
  return function runSendSteps(
    request: FastifyRequest,
    reply: FastifyReply,
    payload: unknown,
    done: (error: Error | null, payload?: unknown) => void,
  ): void {
    const from = (start: number, current: unknown): void => {
      let sending = current;
      for (let index = start; index < steps.length; index++) {
        const step = steps[index];
        if (step === undefined) break;
        let result: unknown;
        try {
          result = step(request, reply, sending);
        } catch (error) {
          done(error as Error);
          return;
        }
        if (result instanceof Promise) {
          result.then((next: unknown) => {
            from(index + 1, next === undefined ? sending : next);
          }, done);
          return;
        }
        if (result !== undefined) sending = result;
      }
      done(null, sending);
    };
    from(0, payload);
  };
}

/** Runs the onError steps; they observe, the error handler answers. */
function errorHook(steps: readonly ErrorRun[]) {
  return function runErrorSteps(request: FastifyRequest, reply: FastifyReply, error: Error, done: () => void): void {
    for (const step of steps) step(request, reply, error);
    done();
  };
}

/** The placed steps of one phase, filled in place when the app is ready. */
type PhaseSteps = { readonly [P in PipelinePhase]: PlacedStep['run'][] };

/** One root hook per phase that has declared steps (a hook per step is a cost of its own). */
function addPhaseHooks(app: FastifyInstance, byPhase: PhaseSteps): void {
  const phases = new Set<PipelinePhase>(requestPipeline.map((step) => step.phase));
  // The declaration (src/http/pipeline.ts PipelineStep) ties each step's run to its phase's signature.
  for (const phase of phases) {
    switch (phase) {
      case 'onRequest':
        app.addHook('onRequest', requestHook(byPhase.onRequest as RequestRun[], 'request'));
        break;
      case 'preValidation':
        app.addHook('preValidation', requestHook(byPhase.preValidation as RequestRun[], 'request'));
        break;
      case 'preHandler':
        app.addHook('preHandler', requestHook(byPhase.preHandler as RequestRun[], 'request'));
        break;
      case 'onError':
        app.addHook('onError', errorHook(byPhase.onError as ErrorRun[]));
        break;
      case 'onSend':
        app.addHook('onSend', sendHook(byPhase.onSend as SendRun[]));
        break;
      case 'onResponse':
        app.addHook('onResponse', requestHook(byPhase.onResponse as RequestRun[], 'response'));
        break;
    }
  }
}

/**
 * The request pipeline (DESIGN.md "The request path"): decorates the app
 * with `pipeline`, runs each phase's steps from one root hook, and at
 * `ready()` refuses an app whose steps are unknown, registered out of the
 * declared order, or missing (src/http/pipeline.ts placeSteps).
 */
export const pipelinePlugin = fp(
  (app: FastifyInstance) => {
    const registered: PipelineStep[] = [];
    const byPhase: PhaseSteps = {
      onRequest: [],
      preValidation: [],
      preHandler: [],
      onError: [],
      onSend: [],
      onResponse: [],
    };
    const placed: PlacedStep[] = [];
    let sealed = false;
    app.decorate('pipeline', {
      add(step: PipelineStep) {
        if (sealed) throw new Error(`request pipeline: step '${step.name}' added after the app started`);
        registered.push(step);
      },
      steps: () => placed,
    } satisfies RequestPipeline);
    addPhaseHooks(app, byPhase);
    app.addHook('onReady', (done) => {
      try {
        sealed = true;
        for (const step of placeSteps(registered)) {
          placed.push(step);
          byPhase[step.declared.phase].push(step.run);
        }
        done();
      } catch (error) {
        done(error as Error);
      }
    });
  },
  { name: 'caduceus-pipeline' },
);
