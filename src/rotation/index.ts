export { RotationInterruptedError, type JobOutcome, type RotationContext, type RotationProgress } from './context.js';
export { countSealedBodies, headerPrefixOf } from './data-rotation.js';
export { loadRotationJob, rotationJobKey, type RotationJobState, type RotationKind } from './job-state.js';
export { acquireRotationLease, RotationBusyError, rotationLeaseKey, type RotationLease } from './lease.js';
export { rotationGraceMs, rotationLease, runRotationJob, type RotationJobDependencies } from './run.js';
export { rotateSigningKeys, type SigningOutcome } from './signing-rotation.js';
export { keyStatus, type KeyStatus, type KeyStatusSources } from './status.js';
export {
  scheduleConfiguredRotation,
  startRotationSchedule,
  type RotationSchedule,
  type RotationScheduleOptions,
} from './schedule.js';
export { runIndexRotation, type IndexOutcome, type IndexRotationJobDependencies } from './index-rotation.js';
