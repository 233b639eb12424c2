import type { FieldProblem } from './error-path.js';

/** Create: the server assigns the id; update: the body's id must equal the URL's. */
export type ValidationMode = { readonly mode: 'create' } | { readonly mode: 'update'; readonly id: string };

const serverMeta = ['versionId', '_versionId', 'lastUpdated', '_lastUpdated'] as const;

function metaOf(body: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> | undefined {
  const meta = body['meta'];
  return typeof meta === 'object' && meta !== null && !Array.isArray(meta)
    ? (meta as Record<string, unknown>)
    : undefined;
}

/**
 * FHIR R4 http.html#create: the server assigns id, meta.versionId and
 * meta.lastUpdated, so a create that carries them is refused rather than
 * silently rewritten. On update (http.html#update) the id SHALL match the URL.
 * meta.security, tag, profile and source belong to the client.
 */
export function checkServerOwned(
  root: string,
  body: Readonly<Record<string, unknown>>,
  mode: ValidationMode,
): FieldProblem | undefined {
  if (mode.mode === 'update') {
    if (!Object.hasOwn(body, 'id'))
      return { field: `${root}.id`, message: 'Is required on update and must equal the id in the URL.' };
    return body['id'] === mode.id ? undefined : { field: `${root}.id`, message: 'Must equal the id in the URL.' };
  }
  if (Object.hasOwn(body, 'id'))
    return { field: `${root}.id`, message: 'Must not be sent on create: the server assigns the id.' };
  const meta = metaOf(body);
  const owned = serverMeta.find((name) => meta !== undefined && Object.hasOwn(meta, name));
  return owned === undefined
    ? undefined
    : { field: `${root}.meta.${owned}`, message: 'Must not be sent on create: the server assigns it.' };
}

/**
 * On update, a client that read the resource first sends back the old
 * meta.versionId and meta.lastUpdated; they are dropped (If-Match carries the
 * version check) so the caller always stamps fresh values.
 */
export function withoutServerMeta<T extends Readonly<Record<string, unknown>>>(body: T): T {
  const meta = metaOf(body);
  if (meta === undefined || !serverMeta.some((name) => Object.hasOwn(meta, name))) return body;
  const kept = Object.fromEntries(
    Object.entries(meta).filter(([name]) => !(serverMeta as readonly string[]).includes(name)),
  );
  const copy: Record<string, unknown> = { ...body };
  if (Object.keys(kept).length === 0) delete copy['meta'];
  else copy['meta'] = kept;
  return copy as T;
}
