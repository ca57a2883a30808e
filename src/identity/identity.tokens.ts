/** The identity context's server keys (keys/server-keys.ts ServerKeys). */
export const SERVER_KEYS = Symbol('IDENTITY_SERVER_KEYS');
