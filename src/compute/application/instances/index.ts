import { LaunchInstanceHandler } from './launch-instance';
import { PauseInstanceHandler } from './pause-instance';
import { RebootInstanceHandler } from './reboot-instance';
import { ResizeInstanceHandler } from './resize-instance';
import { ResumeInstanceHandler } from './resume-instance';
import { StartInstanceHandler } from './start-instance';
import { StopInstanceHandler } from './stop-instance';
import { TerminateInstanceHandler } from './terminate-instance';
import { UpdateInstanceHandler } from './update-instance';

export { LaunchInstance, type LaunchRequest } from './launch-instance';
export { PauseInstance } from './pause-instance';
export { RebootInstance } from './reboot-instance';
export { ResizeInstance } from './resize-instance';
export { ResumeInstance } from './resume-instance';
export { StartInstance } from './start-instance';
export { StopInstance } from './stop-instance';
export { TerminateInstance } from './terminate-instance';
export { UpdateInstance } from './update-instance';
export * from './instance-operations';

/** The instance use cases' handlers (providers of ComputeModule). */
export const INSTANCE_USE_CASES = [
  LaunchInstanceHandler,
  StopInstanceHandler,
  StartInstanceHandler,
  PauseInstanceHandler,
  ResumeInstanceHandler,
  RebootInstanceHandler,
  ResizeInstanceHandler,
  UpdateInstanceHandler,
  TerminateInstanceHandler,
];
