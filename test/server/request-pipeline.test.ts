/**
 * The one ordered request pipeline (DESIGN.md "The request path",
 * src/http/pipeline.ts): the real app runs DESIGN.md's layers in its order
 * from one root hook per Fastify phase, and an app whose layers register a
 * step out of that order, or leave a required one out, does not start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { authenticatePlugin } from '../../src/auth/authenticate-plugin.js';
import { edgePlugin } from '../../src/edge/edge-plugin.js';
import { clientCertificatePlugin } from '../../src/edge/mtls/client-certificate.js';
import { pipelinePlugin } from '../../src/http/pipeline-plugin.js';
import { assertDeclaredOrder, requestPipeline, type DeclaredStep } from '../../src/http/pipeline.js';
import { pino } from 'pino';
import { createSecurityEvents } from '../../src/lib/security-events.js';
import { build } from '../helpers/app.js';

/** DESIGN.md's request path table, its "layer" column in its order, written out here rather than read from src. */
const designLayers = [
  'edge',
  'gateway-pre-auth',
  'authentication',
  'gateway-post-auth',
  'access',
  'validation',
  'application',
  'audit',
  'response',
];

/** Fastify's own lifecycle order (Fastify docs "Lifecycle"). */
const fastifyPhases = ['onRequest', 'preValidation', 'preHandler', 'onError', 'onSend', 'onResponse'];

/** The route hooks Fastify will run for `url` (printRoutes lists them by phase, with the functions' names). */
function routeHooks(app: FastifyInstance, url: string): string[] {
  const lines = app.printRoutes({ includeHooks: true, commonPrefix: false }).split('\n');
  const at = lines.findIndex((line) => line.includes(`${url} (GET)`));
  assert.ok(at >= 0, `route ${url} is registered`);
  const hooks: string[] = [];
  for (const line of lines.slice(at + 1)) {
    const match = /• \((\w+)\) \[(.*)\]/.exec(line);
    if (match === null) break;
    hooks.push(`${match[1] ?? ''}: ${match[2] ?? ''}`);
  }
  return hooks;
}

test('the real app runs DESIGN.md layers in order, every step of the declaration, one root hook per phase', async (t) => {
  const { app } = await build(t, { env: { CADUCEUS_CORS_ORIGINS: 'https://app.example' } });
  await app.ready();
  const steps = app.pipeline.steps();
  // Every declared step is on: CORS with an allow-list, rate limits by default.
  assert.deepEqual(
    steps.map((step) => step.declared.name),
    requestPipeline.map((step) => step.name),
  );
  const layers = steps.map((step) => step.declared.layer).filter((layer, index, all) => all[index - 1] !== layer);
  assert.deepEqual(layers, designLayers);
  const phases = steps.map((step) => fastifyPhases.indexOf(step.declared.phase));
  assert.deepEqual(
    phases,
    [...phases].sort((a, b) => a - b),
    'the declared order is the order Fastify runs the phases in',
  );
  // Fourteen steps, five hooks: one per phase that has steps, on every route.
  assert.deepEqual(routeHooks(app, '/metrics'), [
    'onRequest: "runSteps()"',
    'preValidation: "runSteps()"',
    'onSend: "runSendSteps()"',
    'onResponse: "runSteps()"',
    'onError: "runErrorSteps()"',
  ]);
});

test('without CORS origins and with rate limiting off, the optional steps are absent and the app still starts', async (t) => {
  const { app } = await build(t, { env: { CADUCEUS_RATE_LIMIT: 'off' } });
  await app.ready();
  const names = app.pipeline.steps().map((step) => step.declared.name);
  assert.deepEqual(
    names,
    requestPipeline.filter((step) => step.required).map((step) => step.name),
  );
  const reply = await app.inject({ method: 'GET', url: '/api/v1/patients/missing' });
  assert.equal(reply.statusCode, 401);
});

test('a layer registered out of DESIGN.md order fails startup at ready(), naming both steps', async () => {
  const app = Fastify();
  await app.register(pipelinePlugin);
  // Authentication's client-certificate step before the edge's request-id step.
  await app.register(clientCertificatePlugin, {
    trustedProxies: [],
    events: createSecurityEvents(pino({ level: 'silent' })),
  });
  await app.register(edgePlugin);
  await assert.rejects(async () => {
    await app.ready();
  }, /'request-id' \(edge\) is registered after 'client-certificate' \(authentication\)/);
});

test('an app without a required step fails startup at ready(), naming what is missing', async () => {
  const app = Fastify();
  await app.register(pipelinePlugin);
  await app.register(edgePlugin);
  await app.register(clientCertificatePlugin, {
    trustedProxies: [],
    events: createSecurityEvents(pino({ level: 'silent' })),
  });
  await app.register(authenticatePlugin, { verifier: { verify: () => Promise.reject(new Error('unused')) } });
  await assert.rejects(
    async () => {
      await app.ready();
    },
    (error: Error) => {
      assert.match(error.message, /required step\(s\) not registered/);
      assert.match(error.message, /'edge-filter' \(edge\)/);
      assert.match(error.message, /'access-decision' \(access\)/);
      assert.doesNotMatch(error.message, /'bearer-token'/);
      return true;
    },
  );
});

test('a step added twice fails startup', async () => {
  const app = Fastify();
  await app.register(pipelinePlugin);
  await app.register(edgePlugin);
  app.pipeline.add({ name: 'request-id', run: () => undefined });
  await assert.rejects(async () => {
    await app.ready();
  }, /'request-id' is registered twice/);
});

test('a declaration against DESIGN.md layer order, or against Fastify phase order, is refused', () => {
  const step = (name: string, layer: DeclaredStep['layer'], phase: DeclaredStep['phase']): DeclaredStep => ({
    name,
    layer,
    phase,
    required: true,
  });
  assert.doesNotThrow(() => {
    assertDeclaredOrder(requestPipeline);
  });
  assert.throws(() => {
    assertDeclaredOrder([step('token', 'authentication', 'onRequest'), step('limit', 'gateway-pre-auth', 'onRequest')]);
  }, /'limit' \(gateway-pre-auth\) is declared after 'token' \(authentication\)/);
  // Access declared before validation but run after Fastify validates: the stated order would not be the run order.
  assert.throws(() => {
    assertDeclaredOrder([step('access', 'access', 'preHandler'), step('body', 'validation', 'preValidation')]);
  }, /'body' runs in preValidation/);
  assert.throws(() => {
    assertDeclaredOrder([step('a', 'edge', 'onRequest'), step('a', 'edge', 'onRequest')]);
  }, /declared twice/);
});
