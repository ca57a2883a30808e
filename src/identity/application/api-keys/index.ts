import { CreateApiKeyHandler } from './create-api-key';
import { RevokeApiKeyHandler } from './revoke-api-key';
import { RotateApiKeyHandler } from './rotate-api-key';

export { CreateApiKey, type IssuedKey } from './create-api-key';
export { RevokeApiKey } from './revoke-api-key';
export { RotateApiKey } from './rotate-api-key';
export * from './api-keys.service';

/** The API key use cases' handlers (providers of IdentityModule). */
export const API_KEY_USE_CASES = [CreateApiKeyHandler, RevokeApiKeyHandler, RotateApiKeyHandler];
