import { DeleteImageHandler } from './delete-image';
import { ImportImageHandler } from './import-image';
import { RegisterImageHandler } from './register-image';
import { UploadImageHandler } from './upload-image';

export { DeleteImage } from './delete-image';
export { ImportImage } from './import-image';
export { RegisterImage } from './register-image';
export { UploadImage } from './upload-image';
export * from './image-imports';

/** The image use cases' handlers (providers of ComputeModule). */
export const IMAGE_USE_CASES = [
  RegisterImageHandler,
  UploadImageHandler,
  ImportImageHandler,
  DeleteImageHandler,
];
