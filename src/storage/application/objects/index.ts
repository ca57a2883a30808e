import { DeleteObjectHandler } from './delete-object';
import { PutObjectHandler } from './put-object';

export { DeleteObject, type ObjectDeleted } from './delete-object';
export { PutObject, type ObjectWritten } from './put-object';

/** The object use cases' handlers (providers of StorageModule). */
export const OBJECT_USE_CASES = [PutObjectHandler, DeleteObjectHandler];
