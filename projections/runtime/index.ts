// What projection folders import. The Nest module lives in ./projections.module (it imports
// projections/index.ts, so a projection importing it would make a cycle).
export { defineProjection, type Projection } from './projection';
export {
  ProjectionRuntime,
  type ProjectionLag,
  type ProjectionRuntimeOptions,
  type ProjectionStatus,
  type ProjectionStatusName,
  type RebuildProgress,
  type RebuildResult,
} from './projection-runtime';
export { ProjectionRunner, type RunnerOptions, type RunnerState } from './projection-runner';
export { ProjectionWaiter, type ProjectionWaiterOptions } from './projection-waiter';
export { ProjectionProgress, type ReadModelChange } from './progress';
