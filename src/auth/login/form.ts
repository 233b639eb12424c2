import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { csrfValid } from './browser-binding.js';
import type { Begun, LoginFlow } from './flow.js';
import { messagePage } from './pages.js';

/** Largest form body the pages accept: a username, a password (≤ 1024) and a token fit easily. */
const formBodyLimit = 8192;

/**
 * application/x-www-form-urlencoded for the page routes only (the edge
 * accepts JSON alone elsewhere). URLSearchParams is the WHATWG parser
 * browsers use; a repeated field keeps its first value.
 */
export function addFormParser(app: FastifyInstance): void {
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: formBodyLimit },
    (_request, body, done) => {
      const fields: Record<string, string> = {};
      for (const [name, value] of new URLSearchParams(body as string)) if (!(name in fields)) fields[name] = value;
      done(null, fields);
    },
  );
}

/** One string field of a parsed form, or '' (absent, or not a form body). */
export function field(request: FastifyRequest, name: string): string {
  const body = request.body as Record<string, unknown> | null | undefined;
  const value = typeof body === 'object' && body !== null ? body[name] : undefined;
  return typeof value === 'string' ? value : '';
}

/** The `:uid` path parameter. */
export function uidOf(request: FastifyRequest): string {
  return (request.params as { uid: string }).uid;
}

/**
 * The interaction of a form POST, once its CSRF token matched (403 page
 * otherwise, before any credential is looked at). `token` is the form field
 * or, for the passkey script's JSON calls, the `x-csrf-token` header.
 */
export async function beginPost(
  flow: LoginFlow,
  request: FastifyRequest,
  reply: FastifyReply,
  token: string,
): Promise<Begun | undefined> {
  const uid = uidOf(request);
  if (!csrfValid(request, uid, token)) {
    flow.page(
      reply,
      403,
      messagePage(
        'Request refused',
        'This form has expired or did not come from this site. Reload the page and try again.',
      ),
    );
    return undefined;
  }
  return flow.begin(request, reply, uid);
}
