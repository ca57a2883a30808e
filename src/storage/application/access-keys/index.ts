import { CreateAccessKeyHandler } from './create-access-key';
import { DeleteAccessKeyHandler } from './delete-access-key';

export { CreateAccessKey, type CreatedAccessKey } from './create-access-key';
export { DeleteAccessKey } from './delete-access-key';
export { ACCESS_KEY_SECRETS, AccessKeySecrets, newAccessKeyPair } from './access-key-secrets';

export const ACCESS_KEY_USE_CASES = [CreateAccessKeyHandler, DeleteAccessKeyHandler];
export { AccessKeyQueries, type AccessKeyView, type ActiveAccessKey } from './access-key-queries';
