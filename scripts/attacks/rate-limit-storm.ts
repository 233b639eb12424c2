import { beyondThreshold, type Scenario } from './types.js';

/** Most requests the storm sends before giving up: rate limiting may be off or set very high. */
const maxStormRequests = 5000;
/** Requests in flight at once: a storm, not a queue. */
const concurrency = 8;

/** A rate-limit storm: one address floods `/ready` until the server has refused enough requests with 429. */
export const rateLimitStorm: Scenario = {
  kind: 'rate_limit_storm',
  description: 'one address exceeding its rate limit',
  tokens: [],
  async run(context) {
    const size = beyondThreshold(context.settings, 'rate_limit_storm');
    if ('skip' in size) return { status: 'skipped', note: size.skip };
    const from = context.address();
    let sent = 0;
    let refused = 0;
    const flood = async (): Promise<void> => {
      while (refused < size.count && sent < maxStormRequests) {
        sent += 1;
        const response = await context.api.send({ path: '/ready', from, keepRateLimited: true });
        if (response.status === 429) refused += 1;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, flood));
    if (refused < size.count)
      throw new Error(
        `only ${refused} of ${sent} requests were refused: rate limits off or too high (CADUCEUS_RATE_LIMIT)`,
      );
    return { status: 'ran', note: `${sent} requests from one address, ${refused} refused with 429` };
  },
};
