/**
 * The interaction half of the facade: what the login pages read and how
 * they finish. Consent for the requested scopes is given with the login:
 * clients are registered by an operator (docs/oauth.md "Clients"), so there
 * is no third-party consent screen yet.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import {
  InteractionNotFoundError,
  type InteractionAbort,
  type InteractionDetails,
  type InteractionRedirect,
  type LoginResult,
} from './facade.js';

type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

function words(value: unknown): string[] {
  return typeof value === 'string' ? value.split(' ').filter((word) => word !== '') : [];
}

async function load(provider: Provider, req: IncomingMessage, res: ServerResponse): Promise<Interaction> {
  try {
    return await provider.interactionDetails(req, res);
  } catch (error) {
    // No interaction cookie, or the record expired: the browser must start again at the client.
    if (error instanceof errors.SessionNotFound || error instanceof errors.InvalidRequest)
      throw new InteractionNotFoundError('interaction not found');
    throw error;
  }
}

/** The facade's view of an interaction. */
export async function interactionDetailsOf(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<InteractionDetails> {
  const interaction = await load(provider, req, res);
  const clientId = String(interaction.params.client_id);
  const client = await provider.Client.find(clientId);
  const prompt = interaction.prompt.name === 'consent' ? 'consent' : 'login';
  return Object.freeze({
    uid: interaction.uid,
    prompt,
    reasons: Object.freeze([...interaction.prompt.reasons]),
    clientId,
    clientName: typeof client?.clientName === 'string' ? client.clientName : null,
    scopes: Object.freeze(words(interaction.params.scope)),
    accountId: interaction.session?.accountId ?? null,
    acrValues: Object.freeze(words(interaction.params.acr_values)),
    loginHint: typeof interaction.params.login_hint === 'string' ? interaction.params.login_hint : null,
  });
}

/** Records the login and the grant of the requested scopes; returns where the browser goes next. */
export async function finishInteractionOf(
  provider: Provider,
  audience: string,
  req: IncomingMessage,
  res: ServerResponse,
  result: LoginResult,
): Promise<InteractionRedirect> {
  const interaction = await load(provider, req, res);
  const login = interaction.prompt.name === 'login';
  // A consent prompt belongs to the account already signed in: it cannot be finished for another one.
  if (!login && interaction.session?.accountId !== result.accountId)
    throw new InteractionNotFoundError('interaction belongs to another account');
  const clientId = String(interaction.params.client_id);
  const existing = interaction.grantId === undefined ? undefined : await provider.Grant.find(interaction.grantId);
  const grant = existing ?? new provider.Grant({ accountId: result.accountId, clientId });
  const scope = words(interaction.params.scope).join(' ');
  if (scope !== '') {
    grant.addOIDCScope(scope);
    // RFC 8707: the only resource is the API; the resource server filters to the client's SMART scopes.
    grant.addResourceScope(audience, scope);
  }
  const grantId = await grant.save();
  const redirectTo = await provider.interactionResult(
    req,
    res,
    {
      ...(login && { login: { accountId: result.accountId, amr: [...result.amr], acr: result.acr } }),
      consent: { grantId },
    },
    { mergeWithLastSubmission: false },
  );
  return { redirectTo };
}

/** Ends the interaction with an OAuth error for the client. */
export async function abortInteractionOf(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
  abort: InteractionAbort,
): Promise<InteractionRedirect> {
  await load(provider, req, res);
  const redirectTo = await provider.interactionResult(
    req,
    res,
    {
      error: abort.error,
      ...(abort.description !== undefined && { error_description: abort.description }),
    },
    { mergeWithLastSubmission: false },
  );
  return { redirectTo };
}
