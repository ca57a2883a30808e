import { AttachVolumeHandler } from './attach-volume';
import { CreateVolumeHandler } from './create-volume';
import { DeleteVolumeHandler } from './delete-volume';
import { DetachVolumeHandler } from './detach-volume';

export { AttachVolume } from './attach-volume';
export { CreateVolume } from './create-volume';
export { DeleteVolume } from './delete-volume';
export { DetachVolume } from './detach-volume';
export * from './volume-access';

/** The volume use cases' handlers (providers of ComputeModule). */
export const VOLUME_USE_CASES = [
  CreateVolumeHandler,
  AttachVolumeHandler,
  DetachVolumeHandler,
  DeleteVolumeHandler,
];
