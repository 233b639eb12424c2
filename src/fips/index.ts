export {
  checkFipsRuntime,
  enforceFipsPolicy,
  FipsError,
  fipsReport,
  signingKeysOf,
  type FipsReport,
  type FipsRuntimeOptions,
} from './fips-mode.js';
export { algorithmsInUse, policyViolations, type AlgorithmUse, type SigningKeys } from './policy.js';
export { knownAnswerTests, runSelfTests, type SelfTest } from './self-tests.js';
