import { instanceLaunchSaga } from './instance-launch/instance-launch.saga';
import type { SagaDefinition } from './runtime/definition';

/**
 * Every saga of the application. The app module imports `SagasModule.forRoot({ sagas: ALL_SAGAS })`,
 * which resumes and runs them. A bounded context adds its saga folder's definition
 * (`sagas/instance-launch/...`) here.
 *
 * Saga folders import the API from `../runtime/definition` (and `../runtime/sagas.module`),
 * never from this file: this file imports them, and the cycle would hand them undefined.
 */
export const ALL_SAGAS: readonly SagaDefinition[] = [instanceLaunchSaga];

export {
  defineSaga,
  PermanentSagaError,
  sagaStreamId,
  type RetryPolicy,
  type SagaDefinition,
  type SagaStep,
  type StepContext,
} from './runtime/definition';
export { SagaRuntime, type Clock, type SagaRuntimeOptions } from './runtime/saga-runtime';
export { SagaLauncher, SagasModule, SAGA_RUNTIME } from './runtime/sagas.module';
