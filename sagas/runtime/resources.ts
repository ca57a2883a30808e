/**
 * The saga runtime's own events (stream `saga_<name>-<id>`, written by saga-runtime.ts for every
 * saga): listed for the event feed and the timeline, not audited (the command that started the
 * saga and the domain events its steps write are).
 */
import { emittedBy, notAudited, resourceKind } from '../../src/platform/resources/resource-kind';
import type { SagaEvent } from './saga-state';

const PROGRESS = "saga progress (the steps' own domain events carry the audited actions)";

export const SAGA_INSTANCES = resourceKind(emittedBy<SagaEvent>('saga'), {
  context: 'sagas',
  family: 'saga',
  readModel: 'saga_instances',
  actions: {},
  events: {
    SagaStarted: notAudited(PROGRESS),
    SagaInputReceived: notAudited(PROGRESS),
    SagaStepStarted: notAudited(PROGRESS),
    SagaStepSucceeded: notAudited(PROGRESS),
    SagaStepWaiting: notAudited(PROGRESS),
    SagaStepFailed: notAudited(PROGRESS),
    SagaRetryScheduled: notAudited(PROGRESS),
    SagaCompensationStarted: notAudited(PROGRESS),
    SagaCompensationStepStarted: notAudited(PROGRESS),
    SagaStepCompensated: notAudited(PROGRESS),
    SagaCompensationStepFailed: notAudited(PROGRESS),
    SagaCompleted: notAudited(PROGRESS),
    SagaCompensated: notAudited(PROGRESS),
    SagaFailed: notAudited(PROGRESS),
  },
});

export const SAGA_RESOURCE_KINDS = [SAGA_INSTANCES];
