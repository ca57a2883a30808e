import type { CommandExecutor } from '../../src/eventstore/command-executor';
import type { EventStore, RecordedEvent } from '../../src/eventstore/event-store';
import {
  VPC_PEERING_CATEGORY,
  vpcPeeringDecider,
  type VpcPeeringCommand,
  peeringSpecOf,
  type VpcPeeringState,
} from '../../src/network/domain';
import type { NetworkFabric } from '../../src/network/ports/network-fabric';
import {
  defineSaga,
  PermanentSagaError,
  SagaWait,
  type SagaDefinition,
  type SagaTrigger,
  sagaCommandContext,
  lastStepFailure,
} from '../runtime/definition';

export const VPC_PEERING_SAGA = 'vpc_peering';
export const VPC_PEERING_DELETE_SAGA = 'vpc_peering_delete';

export interface VpcPeeringInput {
  peeringId: string;
}

/** What the peering sagas need; the networking module provides them (`provideSaga`). */
export interface VpcPeeringPorts {
  executor: CommandExecutor;
  store: EventStore;
  fabric: NetworkFabric;
  now?: () => Date;
}

type Answer = 'accepted' | 'rejected' | 'expired' | 'deleted';

interface ProvisionResults extends Record<string, unknown> {
  await_answer: { answer: Answer };
  link_routers: { linked: boolean };
  record_active: null;
}

interface TeardownResults extends Record<string, unknown> {
  unlink_routers: null;
  record_deleted: null;
}

/** Failure codes a peering records. */
export const PEERING_FAILURE_CODES = ['vpc_not_found', 'provisioning_failed'] as const;

async function loadPeering(p: VpcPeeringPorts, peeringId: string): Promise<VpcPeeringState> {
  const { state, exists } = await p.executor.load(vpcPeeringDecider, peeringId);
  if (!exists) throw new PermanentSagaError(`VPC peering ${peeringId} does not exist`);
  return state;
}

async function record(
  p: VpcPeeringPorts,
  saga: string,
  peeringId: string,
  purpose: string,
  correlationId: string,
  command: VpcPeeringCommand,
): Promise<VpcPeeringState> {
  // Recorded in the requester's tenant (its audit log and timeline show the outcome).
  const { state } = await p.executor.load(vpcPeeringDecider, peeringId);
  const result = await p.executor.execute(
    vpcPeeringDecider,
    peeringId,
    command,
    sagaCommandContext(saga, peeringId, purpose, {
      tenantId: state.requester?.tenantId ?? null,
      correlationId,
    }),
    10,
  );
  return result.state;
}

/** The peering an answer or a delete concerns: the saga instance it wakes. */
const feeds: SagaTrigger<VpcPeeringInput> = (event: RecordedEvent) => {
  const prefix = `${VPC_PEERING_CATEGORY}-`;
  if (!event.streamId.startsWith(prefix)) return null;
  const peeringId = event.streamId.slice(prefix.length);
  return { sagaId: peeringId, input: { peeringId } };
};

/**
 * One VPC peering from request to `active` (`saga_vpc_peering-<peeringId>`), started by the
 * request handler once `VpcPeeringRequested` is recorded. Steps, each idempotent:
 *
 *   await_answer   waits (a persisted saga timeout) until the accepter answers or the request
 *                  expires (`expiresAt`, NIMBUS_PEERING_EXPIRY): then records `expired`. The
 *                  answer (`VpcPeeringAccepted`, `Rejected`, a delete) reaches the saga as an
 *                  input from `$all` and wakes it at once. Its compensation (the last to run)
 *                  removes whatever of the link exists, then records `failed` with the failure.
 *   link_routers   for an accepted request: the two routers linked, a route on each side for
 *                  exactly the other side's block, realized by OVN
 *   record_active  `active`; a delete that started meanwhile undoes the link (compensation)
 *
 * A rejected, expired or deleted request ends the saga after the first step.
 */
export function vpcPeeringSaga(p: VpcPeeringPorts): SagaDefinition<VpcPeeringInput> {
  const saga = VPC_PEERING_SAGA;
  const now = p.now ?? (() => new Date());
  const accepted = (results: Partial<ProvisionResults>) =>
    results.await_answer?.answer === 'accepted';
  return defineSaga<VpcPeeringInput, ProvisionResults>({
    name: saga,
    startedBy: { VpcPeeringRequested: feeds },
    triggers: {
      VpcPeeringAccepted: feeds,
      VpcPeeringRejected: feeds,
      VpcPeeringDeletionStarted: feeds,
    },
    retry: { maxAttempts: 4, initialDelayMs: 200, maxDelayMs: 2000 },
    compensationRetry: { maxAttempts: 10, initialDelayMs: 200, maxDelayMs: 5000 },
    stepTimeoutMs: 60_000,
    steps: [
      {
        name: 'await_answer',
        async execute({ input, correlationId }) {
          const state = await loadPeering(p, input.peeringId);
          switch (state.status) {
            case 'pending-acceptance': {
              const expiresAt = state.expiresAt as string;
              if (now().getTime() < Date.parse(expiresAt)) throw new SagaWait(expiresAt);
              const after = await record(p, saga, input.peeringId, 'expire', correlationId, {
                type: 'ExpireVpcPeering',
                now: now(),
              });
              return { answer: after.status === 'expired' ? 'expired' : 'deleted' };
            }
            case 'provisioning':
            case 'active':
            case 'failed':
              return { answer: 'accepted' };
            case 'rejected':
            case 'expired':
              return { answer: state.status };
            case 'deleting':
            case 'deleted':
            case 'none':
              return { answer: 'deleted' };
          }
        },
        async compensate({ input, correlationId }) {
          // A failed peering leaves nothing in the fabric. link_routers is not always undone
          // before this: the runtime compensates only steps that succeeded or whose last attempt
          // had an unknown outcome, and an attempt that wrote the link's router ports (or one
          // killed after writing them, then retried) and then failed with an error is neither.
          // Removing is idempotent, and comes before `failed` is recorded.
          await p.fabric.removePeering(input.peeringId);
          await p.fabric.waitRealized();
          const error = await lastStepFailure(
            p.store,
            VPC_PEERING_SAGA,
            input.peeringId,
            'provisioning failed',
          );
          const colon = error.indexOf(': ');
          const code = colon > 0 ? error.slice(0, colon) : '';
          const known = (PEERING_FAILURE_CODES as readonly string[]).includes(code);
          await record(p, saga, input.peeringId, 'failed', correlationId, {
            type: 'RecordVpcPeeringFailed',
            failureCode: known ? code : 'provisioning_failed',
            failureMessage: known ? error.slice(colon + 2) : error,
            now: now(),
          });
        },
      },
      {
        name: 'link_routers',
        async execute({ input, results }) {
          if (!accepted(results)) return { linked: false };
          const state = await loadPeering(p, input.peeringId);
          if (state.status !== 'provisioning' && state.status !== 'active') {
            throw new PermanentSagaError(
              `provisioning_failed: the peering is ${state.status}; provisioning stopped`,
            );
          }
          await p.fabric.ensurePeering(peeringSpecOf({ ...state, peeringId: input.peeringId }));
          await p.fabric.waitRealized();
          return { linked: true };
        },
        async compensate({ input }) {
          await p.fabric.removePeering(input.peeringId);
          await p.fabric.waitRealized();
        },
      },
      {
        name: 'record_active',
        async execute({ input, correlationId, results }) {
          if (!accepted(results)) return null;
          const state = await record(p, saga, input.peeringId, 'active', correlationId, {
            type: 'RecordVpcPeeringActive',
            now: now(),
          });
          if (state.status !== 'active') {
            throw new PermanentSagaError(
              `provisioning_failed: the peering is ${state.status}; provisioning stopped`,
            );
          }
          return null;
        },
      },
    ],
  });
}

/**
 * Teardown of one peering (`saga_vpc_peering_delete-<peeringId>`), started by the delete handler
 * once `VpcPeeringDeletionStarted` is recorded: the link and its two routes removed and realized,
 * then `deleted`. Forward only, each step idempotent and retried.
 */
export function vpcPeeringDeleteSaga(p: VpcPeeringPorts): SagaDefinition<VpcPeeringInput> {
  const saga = VPC_PEERING_DELETE_SAGA;
  return defineSaga<VpcPeeringInput, TeardownResults>({
    name: saga,
    startedBy: { VpcPeeringDeletionStarted: feeds },
    retry: { maxAttempts: 10, initialDelayMs: 200, maxDelayMs: 5000 },
    stepTimeoutMs: 60_000,
    steps: [
      {
        name: 'unlink_routers',
        async execute({ input }) {
          await p.fabric.removePeering(input.peeringId);
          await p.fabric.waitRealized();
          return null;
        },
      },
      {
        name: 'record_deleted',
        async execute({ input, correlationId }) {
          await record(p, saga, input.peeringId, 'deleted', correlationId, {
            type: 'RecordVpcPeeringDeleted',
            now: new Date(),
          });
          return null;
        },
      },
    ],
  });
}
