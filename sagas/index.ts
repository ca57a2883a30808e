/**
 * The saga runtime and the saga folders. A bounded context registers each of its sagas, built with
 * the ports it needs, as a provider of its own module: `provideSaga({ inject, useFactory })`
 * (`runtime/sagas.module.ts`); the app module imports `SagasModule.forRoot()` once.
 *
 * Saga folders import the API from `../runtime/definition` (and `../runtime/sagas.module`),
 * never from this file.
 */
export {
  defineSaga,
  PermanentSagaError,
  SagaWait,
  sagaStreamId,
  type RetryPolicy,
  type SagaDefinition,
  type SagaStep,
  type StepContext,
} from './runtime/definition';
export { SagaRuntime, type Clock, type SagaRuntimeOptions } from './runtime/saga-runtime';
export { provideSaga, SagaLauncher, SagasModule, SAGA_RUNTIME } from './runtime/sagas.module';
