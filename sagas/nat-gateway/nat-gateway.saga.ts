import { AppError } from '../../src/common/errors/app-error';
import type { CommandExecutor } from '../../src/eventstore/command-executor';
import type { EventStore } from '../../src/eventstore/event-store';
import type { CommandContext } from '../../src/kernel/command-context';
import {
  NAT_FAILURE_CODES,
  elasticIpDecider,
  natGatewayDecider,
  natGatewaySpecOf,
  subnetDecider,
  vpcDecider,
  type NatFailureCode,
  type NatGatewayCommand,
  type NatGatewayState,
} from '../../src/network/domain';
import type { NetworkFabric } from '../../src/network/ports/network-fabric';
import {
  defineSaga,
  onStreamOf,
  PermanentSagaError,
  type SagaDefinition,
  sagaCommandContext,
  lastStepFailure,
} from '../runtime/definition';
import { NAT_GATEWAY_CATEGORY } from '../../src/network/domain/nat-gateway';

export const NAT_GATEWAY_SAGA = 'nat_gateway';
export const NAT_GATEWAY_DELETE_SAGA = 'nat_gateway_delete';

export interface NatGatewayInput {
  natGatewayId: string;
  tenantId: string;
}

/** The NAT gateway an event of its stream concerns: the saga instance it starts. */
const natGatewayOfEvent = onStreamOf<NatGatewayInput>(
  NAT_GATEWAY_CATEGORY,
  (natGatewayId, tenantId) => ({ sagaId: natGatewayId, input: { natGatewayId, tenantId } }),
);

/** What the NAT gateway sagas need; the networking module provides them (`provideSaga`). */
export interface NatGatewayPorts {
  executor: CommandExecutor;
  store: EventStore;
  fabric: NetworkFabric;
  /** The internet gateway attached to the VPC, as the read model knows it; null when none. */
  attachedGatewayOf(vpcId: string): Promise<string | null>;
  /** Returns the tenant's `nat_gateways` quota the create handler reserved (teardown). */
  releaseQuota(tenantId: string, natGatewayId: string, ctx: CommandContext): Promise<unknown>;
}

interface ProvisionResults extends Record<string, unknown> {
  begin: null;
  check_gateway: { gatewayId: string };
  take_elastic_ip: { publicIp: string };
  program_snat: { sourceCidrs: string[] };
  record_active: null;
}

interface TeardownResults extends Record<string, unknown> {
  remove_snat: null;
  free_elastic_ip: null;
  release_address: null;
  record_deleted: null;
  release_quota: null;
}

/** A failure the NAT gateway records as its `failure_code`: `<code>: <message>`. */
export class NatProvisioningError extends PermanentSagaError {
  constructor(
    readonly code: NatFailureCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** The code and message of a step error as the saga stream stored it. */
export function natFailureOf(error: string): { code: NatFailureCode; message: string } {
  const colon = error.indexOf(': ');
  const code = colon > 0 ? error.slice(0, colon) : '';
  if ((NAT_FAILURE_CODES as readonly string[]).includes(code)) {
    return { code: code as NatFailureCode, message: error.slice(colon + 2).slice(0, 1000) };
  }
  return { code: 'provisioning_failed', message: error.slice(0, 1000) };
}

async function loadNat(p: NatGatewayPorts, natGatewayId: string): Promise<NatGatewayState> {
  const { state, exists } = await p.executor.load(natGatewayDecider, natGatewayId);
  if (!exists) throw new PermanentSagaError(`NAT gateway ${natGatewayId} does not exist`);
  return state;
}

/**
 * A provisioning step stops when a delete has started (the teardown owns the gateway now) or the
 * gateway failed; run again once it is active (a repeat after a crash), it changes nothing.
 */
function requireProvisioning(state: NatGatewayState): void {
  if (state.status !== 'pending' && state.status !== 'active') {
    throw new NatProvisioningError(
      'provisioning_failed',
      `the NAT gateway is ${state.status}; provisioning stopped`,
    );
  }
}

async function recordNat(
  p: NatGatewayPorts,
  saga: string,
  input: NatGatewayInput,
  purpose: string,
  correlationId: string,
  command: NatGatewayCommand,
): Promise<NatGatewayState> {
  const result = await p.executor.execute(
    natGatewayDecider,
    input.natGatewayId,
    command,
    sagaCommandContext(saga, input.natGatewayId, purpose, {
      tenantId: input.tenantId,
      correlationId,
    }),
    10,
  );
  return result.state;
}

/**
 * Provisioning of one NAT gateway (`saga_nat_gateway-<natGatewayId>`), started by the create
 * handler once `NatGatewayCreated` (status `pending`) is recorded. Steps, each idempotent:
 *
 *   begin            nothing; its compensation (the last to run) records `failed` with the code
 *   check_gateway    the VPC has an attached internet gateway (else `no_internet_gateway`)
 *   take_elastic_ip  associate the elastic IP with the NAT gateway (in use: `elastic_ip_in_use`)
 *   program_snat     `snat` of the VPC's block to the elastic IP on the router, realized by OVN
 *   record_active    `active`; a delete that started meanwhile undoes it all (compensation)
 *
 * Which subnets actually leave through it is the route tables' business: a subnet whose table
 * sends `0.0.0.0/0` to the NAT gateway leaves by the snat; the others are not routed out.
 */
export function natGatewaySaga(p: NatGatewayPorts): SagaDefinition<NatGatewayInput> {
  const saga = NAT_GATEWAY_SAGA;
  return defineSaga<NatGatewayInput, ProvisionResults>({
    name: saga,
    startedBy: { NatGatewayCreated: natGatewayOfEvent },
    retry: { maxAttempts: 4, initialDelayMs: 200, maxDelayMs: 2000 },
    compensationRetry: { maxAttempts: 10, initialDelayMs: 200, maxDelayMs: 5000 },
    stepTimeoutMs: 60_000,
    steps: [
      {
        name: 'begin',
        execute: () => Promise.resolve(null),
        async compensate({ input, correlationId }) {
          const failure = natFailureOf(
            await lastStepFailure(
              p.store,
              NAT_GATEWAY_SAGA,
              input.natGatewayId,
              'provisioning failed',
            ),
          );
          await recordNat(p, saga, input, 'failed', correlationId, {
            type: 'RecordNatGatewayFailed',
            failureCode: failure.code,
            failureMessage: failure.message,
            now: new Date(),
          });
        },
      },
      {
        name: 'check_gateway',
        async execute({ input }) {
          const nat = await loadNat(p, input.natGatewayId);
          requireProvisioning(nat);
          const gatewayId = await p.attachedGatewayOf(nat.vpcId as string);
          if (gatewayId === null) {
            throw new NatProvisioningError(
              'no_internet_gateway',
              `VPC ${nat.vpcId} has no internet gateway attached`,
            );
          }
          return { gatewayId };
        },
      },
      {
        name: 'take_elastic_ip',
        async execute({ input, correlationId }) {
          const nat = await loadNat(p, input.natGatewayId);
          requireProvisioning(nat);
          const eipId = nat.eipId as string;
          try {
            const { state } = await p.executor.execute(
              elasticIpDecider,
              eipId,
              {
                type: 'AssociateElasticIp',
                target: { kind: 'nat_gateway', id: input.natGatewayId },
                vpcId: nat.vpcId as string,
                privateIp: nat.privateIp as string,
                now: new Date(),
              },
              sagaCommandContext(saga, input.natGatewayId, 'associate_eip', {
                tenantId: input.tenantId,
                correlationId,
              }),
              10,
            );
            return { publicIp: state.publicIp as string };
          } catch (error) {
            if (error instanceof AppError && error.code === 'conflict') {
              throw new NatProvisioningError('elastic_ip_in_use', error.message);
            }
            if (error instanceof AppError && error.code === 'not_found') {
              throw new NatProvisioningError(
                'elastic_ip_not_found',
                `elastic IP ${eipId} was released`,
              );
            }
            throw error;
          }
        },
        async compensate({ input, correlationId }) {
          const nat = await loadNat(p, input.natGatewayId);
          await p.executor
            .execute(
              elasticIpDecider,
              nat.eipId as string,
              {
                type: 'DisassociateElasticIp',
                from: { kind: 'nat_gateway', id: input.natGatewayId },
                now: new Date(),
              },
              sagaCommandContext(saga, input.natGatewayId, 'disassociate_eip', {
                tenantId: input.tenantId,
                correlationId,
              }),
              10,
            )
            .catch(ignoreGone);
        },
      },
      {
        name: 'program_snat',
        async execute({ input, results }) {
          const nat = await loadNat(p, input.natGatewayId);
          requireProvisioning(nat);
          const vpc = (await p.executor.load(vpcDecider, nat.vpcId as string)).state;
          if (vpc.cidrBlock === null) {
            throw new NatProvisioningError('provisioning_failed', `VPC ${nat.vpcId} is gone`);
          }
          const spec = natGatewaySpecOf(
            nat,
            (results.take_elastic_ip as { publicIp: string }).publicIp,
            vpc.cidrBlock,
          );
          await p.fabric.ensureNatGateway(spec);
          await p.fabric.waitRealized();
          return { sourceCidrs: [...spec.sourceCidrs] };
        },
        async compensate({ input }) {
          const nat = await loadNat(p, input.natGatewayId);
          await p.fabric.removeNatGateway(nat.vpcId as string, input.natGatewayId);
          await p.fabric.waitRealized();
        },
      },
      {
        name: 'record_active',
        async execute({ input, correlationId, results }) {
          const state = await recordNat(p, saga, input, 'active', correlationId, {
            type: 'RecordNatGatewayActive',
            publicIp: (results.take_elastic_ip as { publicIp: string }).publicIp,
            now: new Date(),
          });
          // Deleted while provisioning: undo what this saga made (the teardown does the same).
          requireActive(state);
          return null;
        },
      },
    ],
  });
}

function requireActive(state: NatGatewayState): void {
  if (state.status !== 'active') {
    throw new NatProvisioningError(
      'provisioning_failed',
      `the NAT gateway is ${state.status}; provisioning stopped`,
    );
  }
}

function ignoreGone(error: unknown): void {
  if (error instanceof AppError && error.code === 'not_found') return;
  throw error;
}

/**
 * Teardown of one NAT gateway (`saga_nat_gateway_delete-<natGatewayId>`), started by the delete
 * handler once `NatGatewayDeletionStarted` (status `deleting`) is recorded. Forward only, each
 * step idempotent and retried: the snat rule removed and realized, the elastic IP back to
 * `allocated` (only if this NAT gateway holds it), the private address back to the subnet,
 * `deleted`, and the tenant's quota back.
 */
export function natGatewayDeleteSaga(p: NatGatewayPorts): SagaDefinition<NatGatewayInput> {
  const saga = NAT_GATEWAY_DELETE_SAGA;
  return defineSaga<NatGatewayInput, TeardownResults>({
    name: saga,
    startedBy: { NatGatewayDeletionStarted: natGatewayOfEvent },
    retry: { maxAttempts: 10, initialDelayMs: 200, maxDelayMs: 5000 },
    stepTimeoutMs: 60_000,
    steps: [
      {
        name: 'remove_snat',
        async execute({ input }) {
          const nat = await loadNat(p, input.natGatewayId);
          await p.fabric.removeNatGateway(nat.vpcId as string, input.natGatewayId);
          await p.fabric.waitRealized();
          return null;
        },
      },
      {
        name: 'free_elastic_ip',
        async execute({ input, correlationId }) {
          const nat = await loadNat(p, input.natGatewayId);
          await p.executor
            .execute(
              elasticIpDecider,
              nat.eipId as string,
              {
                type: 'DisassociateElasticIp',
                from: { kind: 'nat_gateway', id: input.natGatewayId },
                now: new Date(),
              },
              sagaCommandContext(saga, input.natGatewayId, 'disassociate_eip', {
                tenantId: input.tenantId,
                correlationId,
              }),
              10,
            )
            .catch(ignoreGone);
          return null;
        },
      },
      {
        name: 'release_address',
        async execute({ input, correlationId }) {
          const nat = await loadNat(p, input.natGatewayId);
          await p.executor
            .execute(
              subnetDecider,
              nat.subnetId as string,
              { type: 'ReleaseAddress', holderId: input.natGatewayId, now: new Date() },
              sagaCommandContext(saga, input.natGatewayId, 'release_address', {
                tenantId: input.tenantId,
                correlationId,
              }),
              10,
            )
            .catch(ignoreGone);
          return null;
        },
      },
      {
        name: 'record_deleted',
        async execute({ input, correlationId }) {
          await recordNat(p, saga, input, 'deleted', correlationId, {
            type: 'RecordNatGatewayDeleted',
            now: new Date(),
          });
          return null;
        },
      },
      {
        name: 'release_quota',
        async execute({ input, correlationId }) {
          await p.releaseQuota(
            input.tenantId,
            input.natGatewayId,
            sagaCommandContext(saga, input.natGatewayId, 'release_quota', {
              tenantId: input.tenantId,
              correlationId,
            }),
          );
          return null;
        },
      },
    ],
  });
}
