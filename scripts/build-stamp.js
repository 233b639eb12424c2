// @ts-check
/**
 * The last step of `npm run build`, run only when tsc succeeded: bin/caduceus.js
 * runs dist/ while no compiled input is newer than this stamp, and refuses a
 * build that is older than src/ or that failed.
 */
import { writeFileSync } from 'node:fs';
import { URL } from 'node:url';

writeFileSync(new URL('../dist/.build-stamp', import.meta.url), `${new Date().toISOString()}\n`);
