import { AbortMultipartUploadHandler } from './abort-multipart-upload';
import { CompleteMultipartUploadHandler } from './complete-multipart-upload';
import { InitiateMultipartUploadHandler } from './initiate-multipart-upload';
import { UploadPartHandler } from './upload-part';

export { AbortMultipartUpload } from './abort-multipart-upload';
export { CompleteMultipartUpload } from './complete-multipart-upload';
export { InitiateMultipartUpload, type UploadChanged } from './initiate-multipart-upload';
export { UploadPart } from './upload-part';

/** The multipart upload use cases' handlers (providers of StorageModule). */
export const MULTIPART_USE_CASES = [
  InitiateMultipartUploadHandler,
  UploadPartHandler,
  CompleteMultipartUploadHandler,
  AbortMultipartUploadHandler,
];
