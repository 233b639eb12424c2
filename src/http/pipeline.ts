/**
 * The one ordered request pipeline (DESIGN.md "The request path"): every
 * step a layer adds, where it runs, stated here once. Layers register their
 * steps through their own named plugins; the pipeline plugin
 * (./pipeline-plugin.ts) runs each Fastify phase's steps from one root hook,
 * in this order, and refuses at start-up an app whose layers do not match it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The Fastify phases a step may run in, in the order a request meets them
 * (Fastify "Lifecycle"). Fastify validates params, query and body between
 * preValidation and preHandler; onError runs after a failure, before the
 * error handler's answer goes through onSend.
 */
export const pipelinePhases = ['onRequest', 'preValidation', 'preHandler', 'onError', 'onSend', 'onResponse'] as const;

/** A Fastify phase that runs pipeline steps. */
export type PipelinePhase = (typeof pipelinePhases)[number];

/** The nine layers of DESIGN.md's request path table, in its order. */
export const requestPathLayers = [
  'edge',
  'gateway-pre-auth',
  'authentication',
  'gateway-post-auth',
  'access',
  'validation',
  'application',
  'audit',
  'response',
] as const;

/** A layer of the request path. */
export type RequestPathLayer = (typeof requestPathLayers)[number];

/** One line of the declared order. */
export interface DeclaredStep {
  readonly name: string;
  readonly layer: RequestPathLayer;
  readonly phase: PipelinePhase;
  /** False only for a step a setting turns off; a built app without a required step does not start. */
  readonly required: boolean;
}

/**
 * Every step of the request path, in the order it runs. A request that a
 * step refuses (throws) or answers (sends) stops there. Adding a step is one
 * line here plus an `app.pipeline.add` in its layer's plugin.
 */
export const requestPipeline = [
  // 1 edge: security headers and X-Request-Id first, so every refusal carries them (docs/security-headers.md).
  { name: 'request-id', layer: 'edge', phase: 'onRequest', required: true },
  // A stopping server answers 503 with Connection: close on every connection it still has, before it closes them.
  { name: 'drain', layer: 'edge', phase: 'onRequest', required: true },
  { name: 'edge-filter', layer: 'edge', phase: 'onRequest', required: true },
  // Preflights are answered before rate limits and authentication: they carry no token (docs/access-control.md "CORS").
  { name: 'cors', layer: 'edge', phase: 'onRequest', required: false },
  // 2 gateway, before authentication: an address bucket, then the open-breaker refusal (docs/rate-limits.md, docs/circuit-breakers.md).
  { name: 'address-rate-limit', layer: 'gateway-pre-auth', phase: 'onRequest', required: false },
  { name: 'breaker-gate', layer: 'gateway-pre-auth', phase: 'onRequest', required: true },
  // 3 authentication: the presented certificate is the input of the RFC 8705 binding check (docs/tls.md).
  { name: 'client-certificate', layer: 'authentication', phase: 'onRequest', required: true },
  { name: 'bearer-token', layer: 'authentication', phase: 'onRequest', required: true },
  // 4 gateway, after authentication: a bucket per verified principal.
  { name: 'principal-rate-limit', layer: 'gateway-post-auth', phase: 'onRequest', required: false },
  // 5 access: decided from route and token alone, before any body is read (DESIGN.md).
  { name: 'access-decision', layer: 'access', phase: 'onRequest', required: true },
  // 6 validation: signatures in the parsed body; Fastify's schema validation follows this phase.
  { name: 'body-signatures', layer: 'validation', phase: 'preValidation', required: true },
  // 7 application: the handlers and their per-interaction checks; a sealed record that fails to open is reported.
  { name: 'integrity-events', layer: 'application', phase: 'onError', required: true },
  // 8 audit: durable before the response leaves, failing closed (HIPAA 164.312(b)).
  { name: 'audit-event', layer: 'audit', phase: 'onSend', required: true },
  // 9 response: RFC 9112 §9.6 connection close after an early answer; metrics once the response is out.
  { name: 'connection-close', layer: 'response', phase: 'onSend', required: true },
  { name: 'request-metrics', layer: 'response', phase: 'onResponse', required: true },
] as const satisfies readonly DeclaredStep[];

type Declared = (typeof requestPipeline)[number];

/** The name of a declared step. */
export type StepName = Declared['name'];

/** A step before the response: refuses by throwing (an ApiError), answers by sending. */
export type RequestRun = (request: FastifyRequest, reply: FastifyReply) => void | Promise<void>;
/** An onSend step: the payload to send on, or undefined to keep it. */
export type SendRun = (request: FastifyRequest, reply: FastifyReply, payload: unknown) => unknown;
/** An onError step observes the failure; the error handler writes the answer. */
export type ErrorRun = (request: FastifyRequest, reply: FastifyReply, error: Error) => void;

type RunOf<P extends PipelinePhase> = P extends 'onSend' ? SendRun : P extends 'onError' ? ErrorRun : RequestRun;

/** A layer's step: its declared name, and what it does in its declared phase. */
export type PipelineStep = {
  [N in StepName]: { readonly name: N; readonly run: RunOf<Extract<Declared, { readonly name: N }>['phase']> };
}[StepName];

/** A registered step with its declared place. */
export interface PlacedStep {
  readonly declared: DeclaredStep;
  readonly run: RequestRun | SendRun | ErrorRun;
}

/**
 * Checks a declaration: unique names, layers in DESIGN.md's order, and
 * phases in Fastify's order, so that the order stated is the order run.
 */
export function assertDeclaredOrder(order: readonly DeclaredStep[]): void {
  const seen = new Set<string>();
  order.forEach((step, index) => {
    if (seen.has(step.name)) throw new Error(`request pipeline: step '${step.name}' is declared twice`);
    seen.add(step.name);
    const previous = order[index - 1];
    if (previous === undefined) return;
    if (requestPathLayers.indexOf(step.layer) < requestPathLayers.indexOf(previous.layer))
      throw new Error(
        `request pipeline: '${step.name}' (${step.layer}) is declared after '${previous.name}' (${previous.layer}), against DESIGN.md's layer order`,
      );
    if (pipelinePhases.indexOf(step.phase) < pipelinePhases.indexOf(previous.phase))
      throw new Error(
        `request pipeline: '${step.name}' runs in ${step.phase}, which Fastify runs before ${previous.phase} of '${previous.name}' declared ahead of it`,
      );
  });
}

/**
 * Places the steps in the order they were registered against the declared
 * order: each known, at most once, registered in the declared order (so the
 * composition root reads like DESIGN.md's table), every required one present.
 */
export function placeSteps(
  registered: readonly { readonly name: string; readonly run: PlacedStep['run'] }[],
  order: readonly DeclaredStep[] = requestPipeline,
): readonly PlacedStep[] {
  assertDeclaredOrder(order);
  const placed: PlacedStep[] = [];
  for (const step of registered) {
    const declared = order.find((candidate) => candidate.name === step.name);
    if (declared === undefined) throw new Error(`request pipeline: step '${step.name}' is not declared`);
    if (placed.some((p) => p.declared === declared))
      throw new Error(`request pipeline: step '${step.name}' is registered twice`);
    const last = placed.at(-1)?.declared;
    if (last !== undefined && order.indexOf(declared) < order.indexOf(last))
      throw new Error(
        `request pipeline: '${step.name}' (${declared.layer}) is registered after '${last.name}' (${last.layer}) but is declared before it; register the layers in DESIGN.md's order`,
      );
    placed.push({ declared, run: step.run });
  }
  const missing = order.filter((step) => step.required && !placed.some((p) => p.declared === step));
  if (missing.length > 0)
    throw new Error(
      `request pipeline: required step(s) not registered: ${missing.map((step) => `'${step.name}' (${step.layer})`).join(', ')}`,
    );
  return placed;
}
