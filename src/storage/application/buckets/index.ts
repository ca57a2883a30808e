import { CreateBucketHandler } from './create-bucket';
import { DeleteBucketHandler } from './delete-bucket';
import { AddLifecycleRuleHandler, RemoveLifecycleRuleHandler } from './lifecycle-rules';
import { SetBucketVersioningHandler } from './set-bucket-versioning';

export { CreateBucket, type BucketChanged } from './create-bucket';
export { DeleteBucket } from './delete-bucket';
export {
  AddLifecycleRule,
  RemoveLifecycleRule,
  type LifecycleRuleChanged,
} from './lifecycle-rules';
export { SetBucketVersioning } from './set-bucket-versioning';

/** The bucket use cases' handlers (providers of StorageModule). */
export const BUCKET_USE_CASES = [
  CreateBucketHandler,
  DeleteBucketHandler,
  SetBucketVersioningHandler,
  AddLifecycleRuleHandler,
  RemoveLifecycleRuleHandler,
];
