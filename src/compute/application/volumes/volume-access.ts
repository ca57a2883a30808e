import { Injectable } from '@nestjs/common';
import { AppError } from '../../../common/errors/app-error';
import { isUuid } from '../../../common/ids';
import { CommandExecutor } from '../../../eventstore/command-executor';
import type { CommandContext } from '../../../kernel/command-context';
import {
  volumeDecider,
  volumeVisibleTo,
  type InstanceState,
  type InstanceStatus,
  type VolumeState,
} from '../../domain';
import { QuotaService } from '../../../platform/quotas/quota.service';

export interface VolumeChanged {
  volumeId: string;
}

/** Attach/detach re-create the container: the instance must be RUNNING or STOPPED (409). */
export function requireRemountable(instance: InstanceState, action: 'attach' | 'detach'): void {
  const status = instance.status;
  if (status !== 'NONE' && REMOUNT_STATUSES.includes(status) && instance.containerId !== null) {
    return;
  }
  throw AppError.invalidState(`instance is ${status}; volume ${action} needs RUNNING or STOPPED`, {
    status,
    action,
    allowed: [...REMOUNT_STATUSES],
  });
}

/** Instance states in which attach/detach re-create the container with the new mount set. */
export const REMOUNT_STATUSES: readonly InstanceStatus[] = ['RUNNING', 'STOPPED'];
/** States in which a detach only records the fact (the container is gone or broken). */
export const RECORD_ONLY_DETACH_STATUSES: readonly InstanceStatus[] = ['ERROR', 'TERMINATED'];

/**
 * What the volume use cases (`./*.ts`, one file each) share. Volumes are backed by Docker volumes `nimbus-vol-<id>`. Docker cannot add or remove a mount of an
 * existing container, so attach/detach on an instance re-create its container with the new mount
 * set, keeping its root filesystem through a committed snapshot image (see
 * `ComputeDriver.recreateContainer`), under the instance's lock; the instance then records
 * `InstanceVolumesChanged` (its whole mount set). Attach at launch (`volumes` of POST /instances)
 * mounts at creation.
 */
@Injectable()
export class VolumeAccess {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly quotas: QuotaService,
  ) {}

  async loadOwned(volumeId: string, tenantId: string): Promise<VolumeState> {
    if (!isUuid(volumeId)) throw AppError.notFound('volume', volumeId);
    const { state } = await this.executor.load(volumeDecider, volumeId);
    if (!volumeVisibleTo(state, tenantId)) throw AppError.notFound('volume', volumeId);
    return state;
  }

  async releaseQuota(tenantId: string, volumeId: string, ctx: CommandContext): Promise<void> {
    await this.quotas.release(tenantId, volumeId, ctx);
  }
}
