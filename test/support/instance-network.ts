/**
 * An in-memory InstanceNetwork for tests that exercise compute without the networking context:
 * it places every launch in one fixed subnet, hands out addresses in order and records every call.
 */
import type { CommandContext } from '../../src/kernel/command-context';
import type {
  InstanceNetwork,
  NicAttachment,
  NicRequest,
  Placement,
  PlacementRequest,
} from '../../src/network/ports/instance-network';
import type { NetnsRef } from '../../src/network/ports/network-fabric';

export class FakeInstanceNetwork implements InstanceNetwork {
  readonly calls: string[] = [];
  readonly nics = new Map<string, NicAttachment>();
  failAttach: Error | null = null;
  private next = 4;

  constructor(readonly placement: Placement = { vpcId: 'vpc-fake', subnetId: 'subnet-fake' }) {}

  place(request: PlacementRequest, _ctx: CommandContext): Promise<Placement> {
    this.calls.push(`place ${request.subnetId ?? request.vpcId ?? 'default'}`);
    return Promise.resolve(this.placement);
  }

  attach(request: NicRequest, _ctx: CommandContext): Promise<NicAttachment> {
    this.calls.push(`attach ${request.instanceId}`);
    const held = this.nics.get(request.instanceId);
    if (held) return Promise.resolve(held);
    if (this.failAttach) return Promise.reject(this.failAttach);
    const nic: NicAttachment = {
      instanceId: request.instanceId,
      vpcId: this.placement.vpcId,
      subnetId: request.subnetId,
      privateIp: `10.0.0.${this.next++}`,
      prefixLength: 24,
      gatewayIp: '10.0.0.1',
      securityGroupIds: ['sg-default'],
    };
    this.nics.set(request.instanceId, nic);
    return Promise.resolve(nic);
  }

  plug(instanceId: string, netns: NetnsRef): Promise<void> {
    this.calls.push(`plug ${instanceId} ${netns.kind === 'pid' ? netns.pid : netns.name}`);
    return Promise.resolve();
  }

  detach(instanceId: string, _tenantId: string, _ctx: CommandContext): Promise<void> {
    this.calls.push(`detach ${instanceId}`);
    this.nics.delete(instanceId);
    return Promise.resolve();
  }
}
