import type { EdgeInput } from '../edge-input.js';
import type { EdgePolicy } from '../policy.js';
import type { Refusal } from '../refusal.js';

/** One named edge check (STYLE.md #3): a refusal, or undefined to let the request through. */
export type EdgeCheck = (input: EdgeInput, policy: EdgePolicy) => Refusal | undefined;
