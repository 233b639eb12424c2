import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

/** A static file the pages load, read once at start. */
interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

/** This folder's assets/ in the source tree; `tsc` does not copy them, so a build in dist/ reads them from src/. */
function assetFolder(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'assets'), path.resolve(here, '../../../src/auth/login/assets')];
  return candidates.find((folder) => existsSync(folder)) ?? candidates[0] ?? here;
}

/** @simplewebauthn/browser's UMD bundle (global SimpleWebAuthnBrowser), from node_modules: the same version as the server package. */
function webauthnBrowserBundle(): Buffer {
  const entry = createRequire(import.meta.url).resolve('@simplewebauthn/browser');
  return readFileSync(path.resolve(path.dirname(entry), '../dist/bundle/index.umd.min.js'));
}

/** Reads the assets; called while the app is built, never on import. */
function loadAssets(): ReadonlyMap<string, Asset> {
  const folder = assetFolder();
  return new Map<string, Asset>([
    ['login.css', { body: readFileSync(path.join(folder, 'login.css')), type: 'text/css; charset=utf-8' }],
    ['passkey.js', { body: readFileSync(path.join(folder, 'passkey.js')), type: 'text/javascript; charset=utf-8' }],
    ['simplewebauthn-browser.js', { body: webauthnBrowserBundle(), type: 'text/javascript; charset=utf-8' }],
  ]);
}

/** GET /assets/login/:name: the stylesheet and scripts of the login pages, served from 'self'. */
export function registerLoginAssets(app: FastifyInstance): void {
  const assets = loadAssets();
  app.get('/assets/login/:name', { config: { access: 'public', rateLimit: 'default' } }, async (request, reply) => {
    const asset = assets.get((request.params as { name: string }).name);
    if (asset === undefined) {
      reply.callNotFound();
      return reply;
    }
    return reply.type(asset.type).header('cache-control', 'public, max-age=3600').send(asset.body);
  });
}
